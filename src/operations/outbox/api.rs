//! The outbox in the JSON API, for administrators.

use actix_web::{get, post, web, HttpResponse};

use super::handlers::{overview, send_again, OutboxOverview};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::AdminUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(outbox_overview).service(retry_email);
}

/// Emails per status, whether a mail server is configured, and the most recent failures with the mail
/// server's reply (never addresses or text).
#[utoipa::path(
    tag = "mail",
    responses((status = 200, body = OutboxOverview), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/admin/outbox")]
async fn outbox_overview(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: crate::audit::Origin,
) -> Result<web::Json<OutboxOverview>, AppError> {
    let details = serde_json::json!({ "via": "api" });
    crate::audit::looked(
        &state.db,
        &origin.by(admin.id),
        "outbox_viewed",
        None,
        details,
    )
    .await?;
    Ok(web::Json(overview(&state).await?))
}

/// Queues a failed email to be sent again, its attempts counted from zero.
#[utoipa::path(
    tag = "mail",
    params(("id" = i64, Path, description = "Outbox message id")),
    responses(
        (status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No failed email has this id")
    ),
    security(("bearer" = []))
)]
#[post("/admin/outbox/{id}/retry")]
async fn retry_email(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    send_again(&state, &origin.by(admin.id), id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}
