//! Accounts in the JSON API: who am I, personal access tokens, password change, and (administrators)
//! accounts and invitations.

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
use crate::identity::Role;
use crate::state::AppState;
use crate::web::{AdminUser, CurrentUser};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(me)
        .service(list_tokens)
        .service(create_token)
        .service(revoke_token)
        .service(change_password)
        .service(list_users)
        .service(invite_user);
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Me {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
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

/// Changes your password; every signed-in browser session ends (tokens keep working).
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
    Ok(web::Json(all_users(&state.db).await?))
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
    )
    .await?;
    Ok(HttpResponse::Created().json(Invited {
        user: UserSummary::from(user),
        email_sent: !crate::mail::writes_files(&state.settings),
    }))
}
