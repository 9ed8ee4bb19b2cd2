//! Previews in the JSON API: what each audience meets, for any study member.

use actix_web::{get, web};

use super::actions;
use super::handlers::AudienceQuery;
use super::rules::Preview;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(preview_draft).service(preview_version);
}

/// The draft as one audience meets it: only its questions, in its wording. `as` is staff, service_user,
/// carer, easy_read or interviewer (the default: all wordings, probes and consent statements).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id"),
        ("as" = Option<String>, Query, description = "staff, service_user, carer, easy_read or interviewer")),
    responses((status = 200, body = Preview), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questionnaires/{questionnaire_id}/preview")]
async fn preview_draft(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    query: web::Query<AudienceQuery>,
) -> Result<web::Json<Preview>, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::open(&state.db, &user, study_id).await?;
    let audience = actions::audience(query.audience.as_deref())?;
    let (_, preview) =
        actions::preview(&state.db, study_id, questionnaire_id, None, audience).await?;
    Ok(web::Json(preview))
}

/// A published version as one audience meets it.
#[utoipa::path(
    tag = "versions",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id"),
        ("number" = i32, Path, description = "Version number: 1, 2, …"),
        ("as" = Option<String>, Query, description = "staff, service_user, carer, easy_read or interviewer")),
    responses((status = 200, body = Preview), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questionnaires/{questionnaire_id}/versions/{number}/preview")]
async fn preview_version(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64, i32)>,
    query: web::Query<AudienceQuery>,
) -> Result<web::Json<Preview>, AppError> {
    let (study_id, questionnaire_id, number) = path.into_inner();
    StudyAccess::open(&state.db, &user, study_id).await?;
    let audience = actions::audience(query.audience.as_deref())?;
    let (_, preview) = actions::preview(
        &state.db,
        study_id,
        questionnaire_id,
        Some(number),
        audience,
    )
    .await?;
    Ok(web::Json(preview))
}
