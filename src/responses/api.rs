//! Responses and consent in the JSON API, read-only, for leads and analysts: pseudonymous codes only,
//! never names or email addresses.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use super::queries::{self, ConsentStatus, ResponseSummary, StoredAnswer};
use crate::audit::{self, Origin};
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(list_responses)
        .service(get_response)
        .service(list_consent);
}

const READERS: &[StudyRole] = &[StudyRole::Lead, StudyRole::Analyst];

/// The study's responses, started and sent, with how many questions each answers (leads, analysts).
#[utoipa::path(
    tag = "responses",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Vec<ResponseSummary>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/responses")]
async fn list_responses(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<ResponseSummary>>, AppError> {
    let study_id = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, READERS).await?;
    let found = state
        .db
        .read(move |conn| queries::responses_of_study(conn, study_id).map_err(AppError::from))
        .await?;
    let details = serde_json::json!({ "responses": found.len(), "via": "api" });
    audit::looked(
        &state.db,
        &origin.by(user.id),
        "responses_viewed",
        Some(study_id),
        details,
    )
    .await?;
    Ok(web::Json(found))
}

#[derive(Serialize, ToSchema)]
pub struct ResponseWithAnswers {
    pub response: ResponseSummary,
    /// Each answer tied to its question in the response's published version.
    pub answers: Vec<StoredAnswer>,
}

/// One response with its answers (leads, analysts).
#[utoipa::path(
    tag = "responses",
    params(("id" = i64, Path, description = "Study id"), ("response_id" = i64, Path, description = "Response id")),
    responses((status = 200, body = ResponseWithAnswers), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/responses/{response_id}")]
async fn get_response(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<ResponseWithAnswers>, AppError> {
    let (study_id, response_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, READERS).await?;
    let (response, answers) = state
        .db
        .read(move |conn| {
            queries::response_in_study(conn, study_id, response_id).map_err(AppError::from)
        })
        .await?
        .ok_or(AppError::NotFound)?;
    let details = serde_json::json!({ "response_id": response_id, "via": "api" });
    audit::looked(
        &state.db,
        &origin.by(user.id),
        "responses_viewed",
        Some(study_id),
        details,
    )
    .await?;
    Ok(web::Json(ResponseWithAnswers { response, answers }))
}

/// Every consent decision in the study, by participant code: each statement's answer, the method,
/// the hash of the information shown, and any withdrawal (leads, analysts).
#[utoipa::path(
    tag = "responses",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Vec<ConsentStatus>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/consent-records")]
async fn list_consent(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<ConsentStatus>>, AppError> {
    let study_id = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, READERS).await?;
    let found = state
        .db
        .read(move |conn| queries::consent_of_study(conn, study_id).map_err(AppError::from))
        .await?;
    let details = serde_json::json!({ "records": found.len(), "via": "api" });
    audit::looked(
        &state.db,
        &origin.by(user.id),
        "consent_records_viewed",
        Some(study_id),
        details,
    )
    .await?;
    Ok(web::Json(found))
}
