//! History in the JSON API: any member lists a question's or section's revisions, each with its diff as
//! segments per field; leads and co-designers restore one (409 with the current version if someone saved
//! first, 422 if the old content breaks a rule now).

use actix_web::{get, post, web, HttpResponse};

use super::actions::{self, RestoreInput, RevisionView, Target};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::questionnaires::actions::Saved;
use crate::studies::questionnaires::api::{conflict, question_of, section_of, ConflictBody};
use crate::studies::questionnaires::queries::{Question, Section};
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(question_revisions)
        .service(restore_question)
        .service(section_revisions)
        .service(restore_section);
}

pub(crate) fn conflict_with(current: Target) -> HttpResponse {
    match current {
        Target::Question(question) => conflict(*question),
        Target::Section(section) => conflict(section),
    }
}

/// A question's history, newest first: who, when, why, both versions and the word-level diff per field.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id")),
    responses((status = 200, body = [RevisionView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questions/{question_id}/revisions")]
async fn question_revisions(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Vec<RevisionView>>, AppError> {
    let (study_id, question_id) = path.into_inner();
    let question = question_of(&state, &user, study_id, question_id, false).await?;
    Ok(web::Json(
        actions::history(&state.db, &Target::Question(Box::new(question))).await?,
    ))
}

/// Puts an earlier version of a question back, as a new change (leads and co-designers). Send the
/// `lock_version` you started from: 409 if someone saved first; 422 if that version breaks a rule now.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id"),
        ("revision_id" = i64, Path, description = "Revision id")),
    request_body = RestoreInput,
    responses((status = 200, body = Question), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ConflictBody<Question>), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questions/{question_id}/revisions/{revision_id}/restore")]
async fn restore_question(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64, i64)>,
    body: web::Json<RestoreInput>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id, revision_id) = path.into_inner();
    let question = question_of(&state, &user, study_id, question_id, true).await?;
    let target = Target::Question(Box::new(question));
    match actions::restore(&state.db, &origin.by(user.id), &target, revision_id, &body).await? {
        Saved::Done => Ok(HttpResponse::Ok()
            .json(question_of(&state, &user, study_id, question_id, false).await?)),
        Saved::Stale(current) => Ok(conflict_with(current)),
    }
}

/// A section's history, newest first: who, when, why, both versions and the word-level diff per field.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("section_id" = i64, Path, description = "Section id")),
    responses((status = 200, body = [RevisionView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/sections/{section_id}/revisions")]
async fn section_revisions(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Vec<RevisionView>>, AppError> {
    let (study_id, section_id) = path.into_inner();
    let (section, _) = section_of(&state, &user, study_id, section_id, false).await?;
    Ok(web::Json(
        actions::history(&state.db, &Target::Section(section)).await?,
    ))
}

/// Puts an earlier version of a section back, as a new change (leads and co-designers). Send the
/// `lock_version` you started from: 409 if someone saved first.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("section_id" = i64, Path, description = "Section id"),
        ("revision_id" = i64, Path, description = "Revision id")),
    request_body = RestoreInput,
    responses((status = 200, body = Section), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ConflictBody<Section>), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/sections/{section_id}/revisions/{revision_id}/restore")]
async fn restore_section(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64, i64)>,
    body: web::Json<RestoreInput>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id, revision_id) = path.into_inner();
    let (section, _) = section_of(&state, &user, study_id, section_id, true).await?;
    let target = Target::Section(section);
    match actions::restore(&state.db, &origin.by(user.id), &target, revision_id, &body).await? {
        Saved::Done => Ok(HttpResponse::Ok().json(
            section_of(&state, &user, study_id, section_id, false)
                .await?
                .0,
        )),
        Saved::Stale(current) => Ok(conflict_with(current)),
    }
}
