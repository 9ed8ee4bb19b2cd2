//! Two-step sign-in in the JSON API: its state, setting it up with a code, new recovery codes, and an
//! administrator's reset.

use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};

use super::actions::{self, Enrolment, Status};
use crate::accounts::admin::UserSummary;
use crate::audit::Origin;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::web::{AdminUser, CurrentUser};

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(status)
        .service(begin)
        .service(confirm)
        .service(new_recovery_codes)
        .service(reset);
}

/// Whether two-step sign-in is on for you, and how many recovery codes you have left.
#[utoipa::path(tag = "accounts", responses((status = 200, body = Status), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/me/two-step")]
async fn status(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Status>, AppError> {
    Ok(web::Json(actions::status(&state.db, user.id).await?))
}

/// Starts setting up two-step sign-in: the key to add to an authenticator app (as text and as an
/// `otpauth://` address). Asking again before confirming gives the same key.
#[utoipa::path(tag = "accounts", responses((status = 200, body = Enrolment), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody, description = "Already on")), security(("bearer" = [])))]
#[post("/me/two-step")]
async fn begin(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Enrolment>, AppError> {
    Ok(web::Json(
        actions::begin(&state, user.id, &user.email.0).await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CodeBody {
    /// The 6 digits the authenticator app shows now.
    pub code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown this once; each signs in once without the app.
    pub recovery_codes: Vec<String>,
}

/// Confirms the set-up with a code from the app: two-step sign-in is on, and the recovery codes are
/// returned this once.
#[utoipa::path(tag = "accounts", request_body = CodeBody, responses((status = 200, body = RecoveryCodes), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody, description = "The code is not right")), security(("bearer" = [])))]
#[post("/me/two-step/confirm")]
async fn confirm(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<CodeBody>,
) -> Result<web::Json<RecoveryCodes>, AppError> {
    let codes = actions::confirm(&state, &origin, user.id, user.session_id, &body.code).await?;
    Ok(web::Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Ten new recovery codes; the old ones stop working.
#[utoipa::path(tag = "accounts", responses((status = 200, body = RecoveryCodes), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody, description = "Two-step sign-in is off")), security(("bearer" = [])))]
#[post("/me/two-step/recovery-codes")]
async fn new_recovery_codes(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
) -> Result<web::Json<RecoveryCodes>, AppError> {
    let codes = actions::new_recovery_codes(&state.db, &origin, user.id).await?;
    Ok(web::Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Resets someone's two-step sign-in (administrators only; a lost phone): it is off, their sessions end
/// and their tokens are revoked. If the site requires it of them they set it up again at next sign-in.
#[utoipa::path(
    tag = "accounts",
    params(("id" = i64, Path, description = "User id")),
    responses((status = 200, body = UserSummary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/users/{id}/reset-two-step")]
async fn reset(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<web::Json<UserSummary>, AppError> {
    let user = actions::reset(&state.db, &origin, admin.id, id.into_inner()).await?;
    Ok(web::Json(UserSummary::from(user)))
}
