//! Suggestions in the JSON API: any member lists them; leads and co-designers suggest (422 if the
//! proposal breaks a rule); a lead or the object's author accepts (409 with the current version if it was
//! saved since: send its `lock_version` to confirm) or rejects; the suggester withdraws.

use actix_web::{get, post, web, HttpResponse};

use super::actions::{self, Decision, SuggestionView};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::questionnaires::actions::Saved;
use crate::studies::questionnaires::api::{question_of, section_of, ConflictBody, SectionBody};
use crate::studies::questionnaires::history::actions::Target;
use crate::studies::questionnaires::history::api::conflict_with;
use crate::studies::questionnaires::queries::Question;
use crate::studies::questionnaires::rules::QuestionInput;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(question_suggestions)
        .service(suggest_question)
        .service(section_suggestions)
        .service(suggest_section)
        .service(accept)
        .service(reject)
        .service(withdraw);
}

async fn listed(state: &AppState, target: &Target) -> Result<Vec<SuggestionView>, AppError> {
    Ok(actions::list(&state.db, target).await?.0)
}

/// The suggestion just made or decided, as it reads now.
async fn one(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    suggestion_id: i64,
) -> Result<SuggestionView, AppError> {
    let access = StudyAccess::open(&state.db, user, study_id).await?;
    let loaded = actions::load(&state.db, &access, suggestion_id).await?;
    actions::view(&state.db, loaded).await
}

/// A question's suggestions, newest first, each with the word-level diff against the current version.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id")),
    responses((status = 200, body = [SuggestionView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questions/{question_id}/suggestions")]
async fn question_suggestions(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Vec<SuggestionView>>, AppError> {
    let (study_id, question_id) = path.into_inner();
    let question = question_of(&state, &user, study_id, question_id, false).await?;
    Ok(web::Json(
        listed(&state, &Target::Question(Box::new(question))).await?,
    ))
}

/// Suggests new content for a question instead of saving it (leads and co-designers). The body is an
/// edit's; `lock_version` is the version it starts from. The question is not changed.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id")),
    request_body = QuestionInput,
    responses((status = 201, body = SuggestionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questions/{question_id}/suggestions")]
async fn suggest_question(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<QuestionInput>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id) = path.into_inner();
    let question = question_of(&state, &user, study_id, question_id, true).await?;
    let id = actions::suggest_question(&state.db, &origin.by(user.id), user.id, &question, &body)
        .await?;
    Ok(HttpResponse::Created().json(one(&state, &user, study_id, id).await?))
}

/// A section's suggestions, newest first, each with the word-level diff against the current version.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("section_id" = i64, Path, description = "Section id")),
    responses((status = 200, body = [SuggestionView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/sections/{section_id}/suggestions")]
async fn section_suggestions(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Vec<SuggestionView>>, AppError> {
    let (study_id, section_id) = path.into_inner();
    let (section, _) = section_of(&state, &user, study_id, section_id, false).await?;
    Ok(web::Json(listed(&state, &Target::Section(section)).await?))
}

/// Suggests a new title and introduction for a section instead of saving them (leads and co-designers).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("section_id" = i64, Path, description = "Section id")),
    request_body = SectionBody,
    responses((status = 201, body = SuggestionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/sections/{section_id}/suggestions")]
async fn suggest_section(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<SectionBody>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    let (section, _) = section_of(&state, &user, study_id, section_id, true).await?;
    let lock_version = body.lock_version.unwrap_or(section.lock_version);
    let id = actions::suggest_section(
        &state.db,
        &origin.by(user.id),
        user.id,
        &section,
        lock_version,
        &body.input(),
    )
    .await?;
    Ok(HttpResponse::Created().json(one(&state, &user, study_id, id).await?))
}

/// Accepts a suggestion: its content is saved as an edit whose history credits the suggester (a lead
/// or the question's or section's author). 409 with the current version when it was saved since the
/// suggestion: send that `lock_version` to accept against it; 422 if the proposal breaks a rule now.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("suggestion_id" = i64, Path, description = "Suggestion id")),
    request_body = Decision,
    responses((status = 200, body = SuggestionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ConflictBody<Question>, description = "`current` is the question or section as stored now"),
        (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/suggestions/{suggestion_id}/accept")]
async fn accept(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<Decision>,
) -> Result<HttpResponse, AppError> {
    let (study_id, suggestion_id) = path.into_inner();
    let access = StudyAccess::open(&state.db, &user, study_id).await?;
    let loaded = actions::load(&state.db, &access, suggestion_id).await?;
    match actions::accept(&state.db, &origin.by(user.id), &loaded, &body).await? {
        Saved::Done => {
            Ok(HttpResponse::Ok().json(one(&state, &user, study_id, suggestion_id).await?))
        }
        Saved::Stale(current) => Ok(conflict_with(current)),
    }
}

/// Rejects a suggestion with an optional note (a lead or the question's or section's author).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("suggestion_id" = i64, Path, description = "Suggestion id")),
    request_body = Decision,
    responses((status = 200, body = SuggestionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/suggestions/{suggestion_id}/reject")]
async fn reject(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<Decision>,
) -> Result<HttpResponse, AppError> {
    let (study_id, suggestion_id) = path.into_inner();
    let access = StudyAccess::open(&state.db, &user, study_id).await?;
    let loaded = actions::load(&state.db, &access, suggestion_id).await?;
    actions::reject(&state.db, &origin.by(user.id), &loaded, &body.note).await?;
    Ok(HttpResponse::Ok().json(one(&state, &user, study_id, suggestion_id).await?))
}

/// Withdraws one's own suggestion.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("suggestion_id" = i64, Path, description = "Suggestion id")),
    responses((status = 200, body = SuggestionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/suggestions/{suggestion_id}/withdraw")]
async fn withdraw(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, suggestion_id) = path.into_inner();
    let access = StudyAccess::open(&state.db, &user, study_id).await?;
    let loaded = actions::load(&state.db, &access, suggestion_id).await?;
    actions::withdraw(&state.db, &origin.by(user.id), &loaded).await?;
    Ok(HttpResponse::Ok().json(one(&state, &user, study_id, suggestion_id).await?))
}
