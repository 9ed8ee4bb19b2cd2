//! Retention in the JSON API, for a study's leads.

use actix_web::{get, post, put, web};
use serde::Deserialize;
use utoipa::ToSchema;

use super::actions::{self, Retention};
use super::queries::Purged;
use super::rules::{Schedule, ScheduleFields};
use crate::audit::Origin;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(get_retention)
        .service(put_schedule)
        .service(close_study)
        .service(check)
        .service(approve);
}

/// The study's close date, retention schedule, when each kind of data falls due, and the list
/// waiting for approval (the dry run: what approving would delete, by id and participant code).
#[utoipa::path(
    tag = "retention",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Retention), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/retention")]
async fn get_retention(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Retention>, AppError> {
    let (_, retention) = actions::retention(&state.db, &user, path.into_inner()).await?;
    Ok(web::Json(retention))
}

/// Changes the schedule, in months after the study closes. Identities 1 to 120; the others 12 to 300;
/// consent records at least as long as responses and interview notes. A list waiting for approval is
/// dropped (the next check makes a new one).
#[utoipa::path(
    tag = "retention",
    params(("id" = i64, Path, description = "Study id")),
    request_body = Schedule,
    responses((status = 200, body = Retention), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/retention/schedule")]
async fn put_schedule(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<Schedule>,
) -> Result<web::Json<Retention>, AppError> {
    let (origin, fields) = (origin.by(user.id), ScheduleFields::from(&body.into_inner()));
    let study_id = path.into_inner();
    Ok(web::Json(
        actions::set_schedule(&state.db, &origin, &user, study_id, fields).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CloseBody {
    /// Must be true: the study has ended.
    pub confirm: bool,
}

/// Closes the study: retention periods count from now. Closing twice keeps the first date.
#[utoipa::path(
    tag = "retention",
    params(("id" = i64, Path, description = "Study id")),
    request_body = CloseBody,
    responses((status = 200, body = Retention), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/close")]
async fn close_study(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<CloseBody>,
) -> Result<web::Json<Retention>, AppError> {
    let retention = actions::close(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        body.confirm,
    )
    .await?;
    Ok(web::Json(retention))
}

/// Runs the daily check for this study now: lists what falls due, deletes nothing.
#[utoipa::path(
    tag = "retention",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Retention), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/retention/check")]
async fn check(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Retention>, AppError> {
    Ok(web::Json(
        actions::check_now(&state.db, &user, path.into_inner()).await?,
    ))
}

/// Approves the list waiting for review: deletes exactly what it holds, in one transaction, and
/// records it in the audit log (counts and participant codes). 422 if the list is no longer waiting.
#[utoipa::path(
    tag = "retention",
    params(("id" = i64, Path, description = "Study id"), ("review_id" = i64, Path, description = "The list's id")),
    responses((status = 200, body = Purged), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/retention/reviews/{review_id}/approve")]
async fn approve(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Purged>, AppError> {
    let (study_id, review_id) = path.into_inner();
    Ok(web::Json(
        actions::approve(&state.db, &origin.by(user.id), &user, study_id, review_id).await?,
    ))
}
