//! Setting Voices up in the JSON API: the organisation's details and logo (everyone signed in reads
//! them, administrators change them) and a test email through the mail server.

use actix_web::{delete, get, post, put, web, HttpResponse};

use super::{check_mail, clear_logo, logo_too_large, save_details, set_logo, MailCheck};
use crate::audit::Origin;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::web::organisation::{self, Organisation, OrganisationForm, LOGO_MAX_BYTES};
use crate::web::{AdminUser, CurrentUser};

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(show)
        .service(change)
        .service(put_logo)
        .service(delete_logo)
        .service(test_email);
}

/// Who runs this Voices, as every page shows it.
#[utoipa::path(
    tag = "accounts",
    responses((status = 200, body = Organisation), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/organisation")]
async fn show(
    _user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Organisation>, AppError> {
    Ok(web::Json((*organisation::current(&state).await?).clone()))
}

/// Changes the organisation's name, privacy notice and contact (administrators only).
#[utoipa::path(
    tag = "accounts",
    request_body = OrganisationForm,
    responses((status = 200, body = Organisation), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/organisation")]
async fn change(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Json<OrganisationForm>,
) -> Result<web::Json<Organisation>, AppError> {
    save_details(&state, &origin.by(admin.id), body.into_inner()).await?;
    Ok(web::Json((*organisation::current(&state).await?).clone()))
}

/// Sets the logo: the request body is the PNG or JPEG image itself (administrators only).
#[utoipa::path(
    tag = "accounts",
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/organisation/logo")]
async fn put_logo(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: Origin,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let bytes =
        crate::web::upload::read_limited(body, LOGO_MAX_BYTES, "logo", &logo_too_large()).await?;
    set_logo(&state, &origin.by(admin.id), bytes).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Removes the logo (administrators only).
#[utoipa::path(
    tag = "accounts",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/organisation/logo")]
async fn delete_logo(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: Origin,
) -> Result<HttpResponse, AppError> {
    clear_logo(&state, &origin.by(admin.id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sends a test email to the calling administrator straight away and says what the mail server
/// answered.
#[utoipa::path(
    tag = "accounts",
    responses((status = 200, body = MailCheck), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/admin/mail-check")]
async fn test_email(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
) -> Result<web::Json<MailCheck>, AppError> {
    Ok(web::Json(check_mail(&state, &admin.email.0).await?))
}
