//! The audit log in the JSON API, for administrators.

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::audit::{self, AuditEvent};
use crate::error::AppError;
use crate::web::AdminUser;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_events);
}

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// At most 500; default 100.
    limit: Option<i64>,
    offset: Option<i64>,
}

/// The newest audit events first.
#[utoipa::path(
    tag = "audit",
    params(ListQuery),
    responses(
        (status = 200, body = [AuditEvent]),
        (status = 401, body = crate::error::ErrorBody),
        (status = 403, body = crate::error::ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/audit-events")]
async fn list_events(
    AdminUser(admin): AdminUser,
    state: web::Data<crate::state::AppState>,
    origin: audit::Origin,
    query: web::Query<ListQuery>,
) -> Result<web::Json<Vec<AuditEvent>>, AppError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    let offset = query.offset.unwrap_or(0).max(0);
    let details = serde_json::json!({ "offset": offset, "limit": limit, "via": "api" });
    audit::looked(
        &state.db,
        &origin.by(admin.id),
        "audit_log_viewed",
        None,
        details,
    )
    .await?;
    let events = state
        .db
        .read(move |conn| audit::recent(conn, limit, offset).map_err(AppError::from))
        .await?;
    Ok(web::Json(events))
}
