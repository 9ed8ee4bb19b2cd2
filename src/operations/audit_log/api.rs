//! The audit log in the JSON API: the whole site's for administrators, a study's trail for its leads,
//! each as JSON pages (keyset: pass `before` = the last id received) or as CSV.

use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::actions::{self, Scope};
use super::handlers::csv;
use super::rules::FilterInput;
use crate::audit::{AuditEvent, Origin};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::{AdminUser, CurrentUser};

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(list_events)
        .service(export_events)
        .service(study_events)
        .service(export_study_events);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Limit {
    /// At most 500; default 100.
    limit: Option<i64>,
}

async fn events(
    state: &AppState,
    origin: &Origin,
    scope: Scope,
    input: &FilterInput,
    limit: &Limit,
) -> Result<web::Json<Vec<AuditEvent>>, AppError> {
    let parsed = input.parse().map_err(AppError::Invalid)?;
    let size = limit.limit.unwrap_or(100).clamp(1, 500);
    let filters = input.query_string();
    let found = actions::view(&state.db, origin, scope, parsed, filters, size).await?;
    Ok(web::Json(found.events))
}

/// Audit events, newest first, filtered by person, study, kind and dates (administrators; audited).
/// For the next page pass `before` = the id of the last event received.
#[utoipa::path(
    tag = "audit",
    params(FilterInput, Limit),
    responses(
        (status = 200, body = [AuditEvent]),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/audit-events")]
async fn list_events(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: Origin,
    input: web::Query<FilterInput>,
    limit: web::Query<Limit>,
) -> Result<web::Json<Vec<AuditEvent>>, AppError> {
    events(&state, &origin.by(admin.id), Scope::Site, &input, &limit).await
}

/// The filtered audit events as CSV, newest first (administrators; audited as `audit_log_exported`).
#[utoipa::path(
    tag = "audit",
    params(FilterInput),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/audit-events.csv")]
async fn export_events(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    origin: Origin,
    input: web::Query<FilterInput>,
) -> Result<HttpResponse, AppError> {
    csv(&state.db, origin.by(admin.id), Scope::Site, &input).await
}

/// A study's audit trail, newest first, with the same filters (`study` is ignored): leads of the
/// study; audited.
#[utoipa::path(
    tag = "audit",
    params(("id" = i64, Path, description = "Study id"), FilterInput, Limit),
    responses(
        (status = 200, body = [AuditEvent]),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/studies/{id}/audit-events")]
async fn study_events(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<i64>,
    input: web::Query<FilterInput>,
    limit: web::Query<Limit>,
) -> Result<web::Json<Vec<AuditEvent>>, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, *path, &[StudyRole::Lead]).await?;
    let scope = Scope::Study(access.study.id);
    events(&state, &origin.by(user.id), scope, &input, &limit).await
}

/// A study's audit trail as CSV (leads of the study; audited as `audit_log_exported`).
#[utoipa::path(
    tag = "audit",
    params(("id" = i64, Path, description = "Study id"), FilterInput),
    responses(
        (status = 200, content_type = "text/csv", body = String),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
#[get("/studies/{id}/audit-events.csv")]
async fn export_study_events(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<i64>,
    input: web::Query<FilterInput>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, *path, &[StudyRole::Lead]).await?;
    csv(
        &state.db,
        origin.by(user.id),
        Scope::Study(access.study.id),
        &input,
    )
    .await
}
