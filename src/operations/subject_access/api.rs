//! Subject access in the JSON API.

use actix_web::{get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::actions::{self, SubjectAccess};
use super::queries::Erased;
use crate::audit::Origin;
use crate::distribution::participants::queries::FoundPerson;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(subject_access)
        .service(erase_everything)
        .service(find_person);
}

/// Everything held about one participant, for a subject access request (leads; audited).
#[utoipa::path(
    tag = "participants",
    params(("id" = i64, Path, description = "Study id"), ("participant_id" = i64, Path, description = "Participant id")),
    responses((status = 200, body = SubjectAccess), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/participants/{participant_id}/subject-access")]
async fn subject_access(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<SubjectAccess>, AppError> {
    let (study_id, participant_id) = path.into_inner();
    let access = StudyAccess::with_role(&state.db, &user, study_id, &[StudyRole::Lead]).await?;
    Ok(web::Json(
        actions::gather(
            &state.db,
            &origin.by(user.id),
            study_id,
            &access.study.title,
            participant_id,
        )
        .await?,
    ))
}

/// Erases everything held about one participant at their request: identity, answers and interview
/// notes with the codings of their words, emails, links and visits. Their code, group and consent
/// decisions (now withdrawn) are kept. Leads; audited; erasing again changes nothing (all counts 0).
#[utoipa::path(
    tag = "participants",
    params(("id" = i64, Path, description = "Study id"), ("participant_id" = i64, Path, description = "Participant id")),
    responses((status = 200, body = Erased), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/participants/{participant_id}/erase-everything")]
async fn erase_everything(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Erased>, AppError> {
    let (study_id, participant_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, &[StudyRole::Lead]).await?;
    Ok(web::Json(
        actions::erase_everything(&state.db, &origin.by(user.id), study_id, participant_id).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Search {
    /// Part of a name or email address, at least 3 characters.
    q: String,
}

/// Finds participants by name or email address, for a subject access or erasure request from someone
/// who does not know their code (leads; audited with the codes found, never the text searched).
#[utoipa::path(
    tag = "participants",
    params(("id" = i64, Path, description = "Study id"), Search),
    responses((status = 200, body = [FoundPerson]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/subject-access/search")]
async fn find_person(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<i64>,
    query: web::Query<Search>,
) -> Result<web::Json<Vec<FoundPerson>>, AppError> {
    let study_id = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, &[StudyRole::Lead]).await?;
    Ok(web::Json(
        crate::distribution::participants::actions::find_person(
            &state.db,
            &origin.by(user.id),
            study_id,
            &query.q,
            "subject_access",
        )
        .await?,
    ))
}
