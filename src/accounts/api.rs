//! Accounts in the JSON API: who am I, signed-in sessions, personal access tokens, password change, and
//! (administrators) accounts, invitations, deactivation and reactivation.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::Serialize;
use validator::Validate;

use super::actions;
use super::admin::{all_users, UserSummary};
use super::forms::{ChangePasswordForm, InviteForm, TokenForm};
use super::queries::{self, ApiToken};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::identity::{Role, UserSession};
use crate::state::AppState;
use crate::web::{AdminUser, CurrentUser};

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(me)
        .service(list_tokens)
        .service(create_token)
        .service(revoke_token)
        .service(change_password)
        .service(list_sessions)
        .service(end_session)
        .service(end_all_sessions)
        .service(list_users)
        .service(invite_user)
        .service(deactivate_user)
        .service(reactivate_user)
        .service(unpause_sign_in);
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Whether you sign in with a second step (an authenticator app).
    pub two_step_on: bool,
    /// The site requires two-step sign-in of you and it is not set up: nothing else works until it is.
    pub must_set_up_two_step: bool,
}

/// The account the request is made as.
#[utoipa::path(tag = "accounts", responses((status = 200, body = Me), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/me")]
async fn me(user: CurrentUser) -> web::Json<Me> {
    web::Json(Me {
        id: user.id,
        email: user.email.0,
        display_name: user.display_name,
        role: user.role,
        two_step_on: user.second_factor_on,
        must_set_up_two_step: user.must_set_up_second_factor,
    })
}

/// Your personal access tokens, newest first (never the secrets).
#[utoipa::path(tag = "accounts", responses((status = 200, body = [ApiToken]), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/me/tokens")]
async fn list_tokens(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<ApiToken>>, AppError> {
    let tokens = state
        .db
        .read(move |conn| queries::list_api_tokens(conn, user.id).map_err(AppError::from))
        .await?;
    Ok(web::Json(tokens))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    pub token: ApiToken,
    /// Shown this once: send it as `Authorization: Bearer <secret>`.
    pub secret: String,
}

/// Creates a personal access token.
#[utoipa::path(
    tag = "accounts",
    request_body = TokenForm,
    responses((status = 201, body = CreatedToken), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/me/tokens")]
async fn create_token(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<TokenForm>,
) -> Result<HttpResponse, AppError> {
    body.validate()?;
    let (token, secret) =
        actions::create_api_token(&state.db, &origin, user.id, &body.name).await?;
    Ok(HttpResponse::Created().json(CreatedToken { token, secret }))
}

/// Revokes one of your tokens; it stops working at once.
#[utoipa::path(
    tag = "accounts",
    params(("id" = i64, Path, description = "Token id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/me/tokens/{id}")]
async fn revoke_token(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    actions::revoke_api_token(&state.db, &origin, user.id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Changes your password. Every signed-in browser session ends and every personal access token is
/// revoked, the one making this call included.
#[utoipa::path(
    tag = "accounts",
    request_body = ChangePasswordForm,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/me/password")]
async fn change_password(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<ChangePasswordForm>,
) -> Result<HttpResponse, AppError> {
    body.validate()?;
    let body = body.into_inner();
    actions::change_password(
        &state.db,
        &origin,
        user.id,
        None,
        body.current_password,
        body.new_password,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every account (administrators only).
#[utoipa::path(
    tag = "accounts",
    responses((status = 200, body = [UserSummary]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/users")]
async fn list_users(
    _admin: AdminUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<UserSummary>>, AppError> {
    Ok(web::Json(
        all_users(&state.db, &state.settings.login).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Invited {
    pub user: UserSummary,
    /// True when the invitation is queued for the mail server; false when no mail server is set up
    /// and emails are only written as files.
    pub email_sent: bool,
}

/// Invites someone by email (administrators only): the account waits until they choose a password.
#[utoipa::path(
    tag = "accounts",
    request_body = InviteForm,
    responses(
        (status = 201, body = Invited),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[post("/users/invitations")]
async fn invite_user(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<InviteForm>,
) -> Result<HttpResponse, AppError> {
    body.validate()?;
    let role = Role::parse(&body.role).unwrap_or(Role::Member);
    let user = actions::invite(
        &state,
        &origin.by(admin.id),
        &body.email,
        &body.display_name,
        role,
        None,
    )
    .await?;
    Ok(HttpResponse::Created().json(Invited {
        user: UserSummary::from(user),
        email_sent: !crate::mail::writes_files(&state.settings),
    }))
}

/// Your signed-in browser sessions, the most recently used first.
#[utoipa::path(
    tag = "accounts",
    responses((status = 200, body = [UserSession]), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/me/sessions")]
async fn list_sessions(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<UserSession>>, AppError> {
    Ok(web::Json(actions::sessions(&state.db, user.id).await?))
}

/// Ends one of your sessions: that browser is signed out at its next request.
#[utoipa::path(
    tag = "accounts",
    params(("id" = i64, Path, description = "Session id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/me/sessions/{id}")]
async fn end_session(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    actions::end_session(&state.db, &origin, user.id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Signs you out everywhere: every browser session ends (personal access tokens are kept; revoke them
/// one by one).
#[utoipa::path(
    tag = "accounts",
    responses((status = 204), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/me/sessions")]
async fn end_all_sessions(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
) -> Result<HttpResponse, AppError> {
    actions::end_all_sessions(&state.db, &origin, user.id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deactivates an account (administrators only): the person cannot sign in or use a token, their
/// sessions end and their tokens are revoked; what they did stays attributed to them.
#[utoipa::path(
    tag = "accounts",
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, body = UserSummary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "Your own account, or the last active administrator")
    ),
    security(("bearer" = []))
)]
#[post("/users/{id}/deactivate")]
async fn deactivate_user(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<web::Json<UserSummary>, AppError> {
    let user = actions::set_active(&state.db, &origin, admin.id, id.into_inner(), false).await?;
    Ok(web::Json(UserSummary::from(user)))
}

/// Reactivates an account (administrators only). Tokens revoked at deactivation stay revoked.
#[utoipa::path(
    tag = "accounts",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserSummary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/users/{id}/reactivate")]
async fn reactivate_user(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<web::Json<UserSummary>, AppError> {
    let user = actions::set_active(&state.db, &origin, admin.id, id.into_inner(), true).await?;
    Ok(web::Json(UserSummary::from(user)))
}

/// Ends the pause on someone's sign-in after too many failed attempts (administrators only).
#[utoipa::path(
    tag = "accounts",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/users/{id}/unpause")]
async fn unpause_sign_in(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    actions::unpause_sign_in(&state.db, &origin, admin.id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
