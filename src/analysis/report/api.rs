//! The learning report and quote approvals in the JSON API.

use actix_web::{get, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::actions::{self, QuoteList, Report};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(get_report)
        .service(put_approval)
        .service(get_quotes)
        .service(put_quotes);
}

/// The learning report's content (leads and analysts): participation by group, COM-B barriers and
/// enablers per group with approved quotes from participants who agreed to quotes, involvement
/// against the target, and methods. Counts under the study's threshold are `{"count": null, "suppressed": true}`.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Report), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/report")]
async fn get_report(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<i64>,
) -> Result<web::Json<Report>, AppError> {
    let (access, report) = actions::report(&state, &user, path.into_inner()).await?;
    actions::audit_report_read(&state.db, &origin.by(user.id), access.study.id).await?;
    Ok(web::Json(report))
}

#[derive(Deserialize, ToSchema)]
pub struct Approval {
    /// true to approve the passage for quoting in shared reports, false to take approval back.
    pub approved: bool,
}

/// Approves a coded passage for quoting in shared reports (leads); refused (422) when the participant
/// did not agree to quotes.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("coding_id" = i64, Path, description = "Coding id")),
    request_body = Approval,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/codings/{coding_id}/approval")]
async fn put_approval(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<Approval>,
) -> Result<HttpResponse, AppError> {
    let (study_id, coding_id) = path.into_inner();
    actions::approve(
        &state,
        &origin.by(user.id),
        &user,
        study_id,
        coding_id,
        body.approved,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The coded passages a lead may approve as quotes (leads): those from participants who agreed to
/// quotes, each with its code, who said it (as a group) and whether it is approved.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = QuoteList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/quotes")]
async fn get_quotes(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<QuoteList>, AppError> {
    let (_, list) = actions::quote_list(&state, &user, path.into_inner()).await?;
    Ok(web::Json(list))
}

#[derive(Deserialize, ToSchema)]
pub struct Approvals {
    /// Coding ids to approve for quoting in shared reports.
    #[serde(default)]
    pub approve: Vec<i64>,
    /// Coding ids whose approval is taken back.
    #[serde(default)]
    pub withdraw: Vec<i64>,
}

/// Approves and withdraws many quotes at once (leads), all or none: refused (422) when one comes from
/// a participant who did not agree to quotes. Answers the list as it now is.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    request_body = Approvals,
    responses((status = 200, body = QuoteList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/quotes")]
async fn put_quotes(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<Approvals>,
) -> Result<web::Json<QuoteList>, AppError> {
    let study_id = path.into_inner();
    let Approvals { approve, withdraw } = body.into_inner();
    actions::set_approvals(
        &state,
        &origin.by(user.id),
        &user,
        study_id,
        approve,
        withdraw,
    )
    .await?;
    let (_, list) = actions::quote_list(&state, &user, study_id).await?;
    Ok(web::Json(list))
}
