//! Sign-off, status and versions in the JSON API. Members read; the lead sets the sign-off rule, changes
//! the status and publishes; the members the rule asks for sign off.

use actix_web::{get, post, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::actions::{self, Comparison, SignOffState};
use super::queries::{Version, VersionSummary};
use super::rules::SignOffRule;
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::consent::actions::questionnaire;
use crate::studies::questionnaires::queries::Questionnaire;
use crate::studies::rules::StudyRole;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(get_sign_off_rule)
        .service(put_sign_off_rule)
        .service(sign_off)
        .service(change_status)
        .service(publish)
        .service(list_versions)
        .service(get_version)
        .service(compare_versions);
}

const LEAD: &[StudyRole] = &[StudyRole::Lead];

/// The sign-off rule, who has signed the draft as it is now, and what publishing still needs.
#[utoipa::path(
    tag = "versions",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    responses((status = 200, body = SignOffState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questionnaires/{questionnaire_id}/sign-off-rule")]
async fn get_sign_off_rule(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<SignOffState>, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::open(&state.db, &user, study_id).await?;
    let questionnaire = questionnaire(&state.db, study_id, questionnaire_id).await?;
    Ok(web::Json(actions::state(&state.db, &questionnaire).await?))
}

/// Names who must sign off before publishing (the lead).
#[utoipa::path(
    tag = "versions",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    request_body = SignOffRule,
    responses((status = 200, body = SignOffState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/questionnaires/{questionnaire_id}/sign-off-rule")]
async fn put_sign_off_rule(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<SignOffRule>,
) -> Result<web::Json<SignOffState>, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    let questionnaire = questionnaire(&state.db, study_id, questionnaire_id).await?;
    actions::set_rule(&state.db, &origin.by(user.id), &questionnaire, &body).await?;
    Ok(web::Json(actions::state(&state.db, &questionnaire).await?))
}

/// Signs off the draft as it is now (members the sign-off rule asks for). Any later change to the draft
/// means this sign-off no longer counts.
#[utoipa::path(
    tag = "versions",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    responses((status = 201, body = SignOffState), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questionnaires/{questionnaire_id}/sign-offs")]
async fn sign_off(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    let access = StudyAccess::open(&state.db, &user, study_id).await?;
    let questionnaire = questionnaire(&state.db, study_id, questionnaire_id).await?;
    actions::sign_off(&state.db, &origin.by(user.id), &questionnaire, &access.me).await?;
    Ok(HttpResponse::Created().json(actions::state(&state.db, &questionnaire).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct StatusBody {
    /// draft or pilot; a questionnaire becomes published only by publishing.
    pub status: String,
}

/// Moves the questionnaire between draft and pilot (the lead).
#[utoipa::path(
    tag = "versions",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    request_body = StatusBody,
    responses((status = 200, body = Questionnaire), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questionnaires/{questionnaire_id}/status")]
async fn change_status(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<StatusBody>,
) -> Result<web::Json<Questionnaire>, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    let found = questionnaire(&state.db, study_id, questionnaire_id).await?;
    actions::change_status(&state.db, &origin.by(user.id), &found, &body.status).await?;
    Ok(web::Json(
        questionnaire(&state.db, study_id, questionnaire_id).await?,
    ))
}

/// Publishes the draft as the next immutable version (the lead; the sign-off rule must be met).
#[utoipa::path(
    tag = "versions",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    responses((status = 201, body = Version), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questionnaires/{questionnaire_id}/publish")]
async fn publish(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, LEAD).await?;
    let found = questionnaire(&state.db, study_id, questionnaire_id).await?;
    let number =
        actions::publish(&state.db, &origin.by(user.id), study_id, found.id, user.id).await?;
    Ok(HttpResponse::Created().json(actions::version(&state.db, found.id, number).await?))
}

/// The published versions, newest first.
#[utoipa::path(
    tag = "versions",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    responses((status = 200, body = [VersionSummary]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questionnaires/{questionnaire_id}/versions")]
async fn list_versions(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Vec<VersionSummary>>, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::open(&state.db, &user, study_id).await?;
    let found = questionnaire(&state.db, study_id, questionnaire_id).await?;
    Ok(web::Json(actions::versions(&state.db, found.id).await?))
}

/// One published version, exactly as published.
#[utoipa::path(
    tag = "versions",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id"),
        ("number" = i32, Path, description = "Version number: 1, 2, …")),
    responses((status = 200, body = Version), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questionnaires/{questionnaire_id}/versions/{number}")]
async fn get_version(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64, i32)>,
) -> Result<web::Json<Version>, AppError> {
    let (study_id, questionnaire_id, number) = path.into_inner();
    StudyAccess::open(&state.db, &user, study_id).await?;
    let found = questionnaire(&state.db, study_id, questionnaire_id).await?;
    Ok(web::Json(
        actions::version(&state.db, found.id, number).await?,
    ))
}

/// Every difference between two versions, item by item and field by field.
#[utoipa::path(
    tag = "versions",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id"),
        ("from" = i32, Path, description = "The earlier version number"), ("to" = i32, Path, description = "The later version number")),
    responses((status = 200, body = Comparison), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questionnaires/{questionnaire_id}/versions/{from}/compare/{to}")]
async fn compare_versions(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64, i32, i32)>,
) -> Result<web::Json<Comparison>, AppError> {
    let (study_id, questionnaire_id, from, to) = path.into_inner();
    StudyAccess::open(&state.db, &user, study_id).await?;
    let found = questionnaire(&state.db, study_id, questionnaire_id).await?;
    Ok(web::Json(
        actions::compare(&state.db, found.id, from, to).await?,
    ))
}
