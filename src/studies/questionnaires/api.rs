//! Questionnaires, sections and questions in the JSON API. Members read; leads and co-designers edit.
//! A save that started from an old version gets 409 with both versions, and changes nothing.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::actions::{self, Saved};
use super::handlers::{QuestionnaireForm, EDITORS};
use super::queries::{
    self, Direction, Question, Questionnaire, Section, SectionTree, TaxonomyTerm,
};
use super::rules::{QuestionInput, SectionInput};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(taxonomy)
        .service(list_questionnaires)
        .service(create_questionnaire)
        .service(get_questionnaire)
        .service(add_section)
        .service(update_section)
        .service(delete_section)
        .service(move_section)
        .service(duplicate_section)
        .service(add_question)
        .service(get_question)
        .service(update_question)
        .service(delete_question)
        .service(move_question)
        .service(duplicate_question);
}

#[derive(Serialize, ToSchema)]
pub struct Taxonomy {
    pub terms: Vec<TaxonomyTerm>,
    /// [COM-B term id, TDF term id]: which domains sit under which sub-component.
    pub links: Vec<(i64, i64)>,
}

/// The COM-B sub-components and Theoretical Domains Framework domains questions can be tagged with.
#[utoipa::path(tag = "questionnaires", responses((status = 200, body = Taxonomy), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
#[get("/taxonomy")]
async fn taxonomy(
    _user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Taxonomy>, AppError> {
    let (terms, links) = state
        .db
        .read(|conn| Ok::<_, AppError>((queries::taxonomy(conn)?, queries::taxonomy_links(conn)?)))
        .await?;
    Ok(web::Json(Taxonomy { terms, links }))
}

/// The study's questionnaires.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = [Questionnaire]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questionnaires")]
async fn list_questionnaires(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<i64>,
) -> Result<web::Json<Vec<Questionnaire>>, AppError> {
    let access = StudyAccess::open(&state.db, &user, id.into_inner()).await?;
    let study_id = access.study.id;
    Ok(web::Json(
        state
            .db
            .read(move |conn| queries::list_questionnaires(conn, study_id).map_err(AppError::from))
            .await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct QuestionnaireBody {
    pub title: String,
    #[serde(default)]
    pub description: String,
}

/// Creates a questionnaire (leads and co-designers).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id")),
    request_body = QuestionnaireBody,
    responses((status = 201, body = QuestionnaireTree), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questionnaires")]
async fn create_questionnaire(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
    body: web::Json<QuestionnaireBody>,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, id.into_inner(), EDITORS).await?;
    let form = QuestionnaireForm {
        title: body.title.clone(),
        description: body.description.clone(),
    };
    form.check().map_err(AppError::Invalid)?;
    let questionnaire_id = actions::create_questionnaire(
        &state.db,
        &origin.by(user.id),
        access.study.id,
        &form.title,
        &form.description,
    )
    .await?;
    Ok(HttpResponse::Created().json(tree_of(&state, access.study.id, questionnaire_id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct QuestionnaireTree {
    pub questionnaire: Questionnaire,
    pub sections: Vec<SectionTree>,
}

async fn tree_of(
    state: &AppState,
    study_id: i64,
    questionnaire_id: i64,
) -> Result<QuestionnaireTree, AppError> {
    state
        .db
        .read(move |conn| {
            let questionnaire = queries::find_questionnaire(conn, study_id, questionnaire_id)?
                .ok_or(AppError::NotFound)?;
            Ok(QuestionnaireTree {
                questionnaire,
                sections: queries::tree(conn, questionnaire_id)?,
            })
        })
        .await
}

/// A questionnaire with its sections and questions, in order.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    responses((status = 200, body = QuestionnaireTree), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questionnaires/{questionnaire_id}")]
async fn get_questionnaire(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<QuestionnaireTree>, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::open(&state.db, &user, study_id).await?;
    Ok(web::Json(
        tree_of(&state, study_id, questionnaire_id).await?,
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct SectionBody {
    pub title: String,
    #[serde(default)]
    pub introduction: String,
    /// Required when changing a section: the version the change started from.
    pub lock_version: Option<i32>,
    /// Why we changed it (optional, up to 1,000 characters): kept in the section's history.
    #[serde(default)]
    pub reason: String,
}

impl SectionBody {
    pub(crate) fn input(&self) -> SectionInput {
        SectionInput {
            title: self.title.clone(),
            introduction: self.introduction.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// Both versions, when a save started from an old version.
#[derive(Serialize, ToSchema)]
pub struct ConflictBody<T: ToSchema> {
    pub error: crate::error::ErrorDetail,
    pub current: T,
}

pub fn conflict<T: Serialize + ToSchema>(current: T) -> HttpResponse {
    HttpResponse::Conflict().json(ConflictBody {
        error: crate::error::ErrorDetail {
            code: "conflict".into(),
            message: "Someone else saved this since you started. Nothing was changed: compare with the current version and save again.".into(),
            fields: Default::default(),
        },
        current,
    })
}

/// Any member may read; only leads and co-designers may change.
async fn check_access(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    editors_only: bool,
) -> Result<(), AppError> {
    if editors_only {
        StudyAccess::with_role(&state.db, user, study_id, EDITORS).await?;
    } else {
        StudyAccess::open(&state.db, user, study_id).await?;
    }
    Ok(())
}

pub(super) async fn section_of(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    section_id: i64,
    editors_only: bool,
) -> Result<(Section, Questionnaire), AppError> {
    check_access(state, user, study_id, editors_only).await?;
    state
        .db
        .read(move |conn| queries::find_section(conn, study_id, section_id).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)
}

pub(super) async fn question_of(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    question_id: i64,
    editors_only: bool,
) -> Result<Question, AppError> {
    check_access(state, user, study_id, editors_only).await?;
    let found = state
        .db
        .read(move |conn| {
            queries::find_question(conn, study_id, question_id).map_err(AppError::from)
        })
        .await?;
    found
        .map(|(question, _)| question)
        .ok_or(AppError::NotFound)
}

/// Adds a section at the end (leads and co-designers).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    request_body = SectionBody,
    responses((status = 201, body = QuestionnaireTree), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questionnaires/{questionnaire_id}/sections")]
async fn add_section(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<SectionBody>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, EDITORS).await?;
    let questionnaire = tree_of(&state, study_id, questionnaire_id)
        .await?
        .questionnaire;
    actions::add_section(
        &state.db,
        &origin.by(user.id),
        &questionnaire,
        &body.input(),
    )
    .await?;
    Ok(HttpResponse::Created().json(tree_of(&state, study_id, questionnaire_id).await?))
}

/// Changes a section's title and introduction (leads and co-designers); 409 if someone saved first.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("section_id" = i64, Path, description = "Section id")),
    request_body = SectionBody,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ConflictBody<Section>), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/sections/{section_id}")]
async fn update_section(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<SectionBody>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    let (section, _) = section_of(&state, &user, study_id, section_id, true).await?;
    let lock_version = body.lock_version.unwrap_or(section.lock_version);
    match actions::update_section(
        &state.db,
        &origin.by(user.id),
        &section,
        lock_version,
        &body.input(),
    )
    .await?
    {
        Saved::Done => Ok(HttpResponse::NoContent().finish()),
        Saved::Stale(current) => Ok(conflict(current)),
    }
}

/// Deletes a section and its questions (leads and co-designers).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("section_id" = i64, Path, description = "Section id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/studies/{id}/sections/{section_id}")]
async fn delete_section(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    let (section, _) = section_of(&state, &user, study_id, section_id, true).await?;
    actions::delete_section(&state.db, &origin.by(user.id), &section).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
pub struct MoveBody {
    /// "up" or "down".
    pub direction: Direction,
}

/// Moves a section up or down one place (leads and co-designers).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("section_id" = i64, Path, description = "Section id")),
    request_body = MoveBody,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/sections/{section_id}/move")]
async fn move_section(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<MoveBody>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    let (section, _) = section_of(&state, &user, study_id, section_id, true).await?;
    actions::move_section(&state.db, &origin.by(user.id), &section, body.direction).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Adds a question at the end of a section (leads and co-designers).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("section_id" = i64, Path, description = "Section id")),
    request_body = QuestionInput,
    responses((status = 201, body = Question), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/sections/{section_id}/questions")]
async fn add_question(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<QuestionInput>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    let (section, _) = section_of(&state, &user, study_id, section_id, true).await?;
    let id = actions::add_question(&state.db, &origin.by(user.id), &section, &body).await?;
    Ok(HttpResponse::Created().json(question_of(&state, &user, study_id, id, false).await?))
}

/// One question.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id")),
    responses((status = 200, body = Question), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questions/{question_id}")]
async fn get_question(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Question>, AppError> {
    let (study_id, question_id) = path.into_inner();
    Ok(web::Json(
        question_of(&state, &user, study_id, question_id, false).await?,
    ))
}

/// Replaces a question (leads and co-designers); send the `lock_version` you started from: 409 if someone saved first.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id")),
    request_body = QuestionInput,
    responses((status = 200, body = Question), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ConflictBody<Question>), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/questions/{question_id}")]
async fn update_question(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<QuestionInput>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id) = path.into_inner();
    let question = question_of(&state, &user, study_id, question_id, true).await?;
    match actions::update_question(&state.db, &origin.by(user.id), &question, &body).await? {
        Saved::Done => Ok(HttpResponse::Ok()
            .json(question_of(&state, &user, study_id, question_id, false).await?)),
        Saved::Stale(current) => Ok(conflict(current)),
    }
}

/// Deletes a question; conditions that depended on it are removed (leads and co-designers).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/studies/{id}/questions/{question_id}")]
async fn delete_question(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id) = path.into_inner();
    let question = question_of(&state, &user, study_id, question_id, true).await?;
    actions::delete_question(&state.db, &origin.by(user.id), &question).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Moves a question up or down one place in its section (leads and co-designers).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id")),
    request_body = MoveBody,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questions/{question_id}/move")]
async fn move_question(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<MoveBody>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id) = path.into_inner();
    let question = question_of(&state, &user, study_id, question_id, true).await?;
    actions::move_question(&state.db, &origin.by(user.id), &question, body.direction).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Copies a question to just below it (leads and co-designers).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id")),
    responses((status = 201, body = Question), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questions/{question_id}/duplicate")]
async fn duplicate_question(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, question_id) = path.into_inner();
    let question = question_of(&state, &user, study_id, question_id, true).await?;
    let id = actions::duplicate_question(&state.db, &origin.by(user.id), &question).await?;
    Ok(HttpResponse::Created().json(question_of(&state, &user, study_id, id, false).await?))
}

/// Copies a section and its questions to just below it (leads and co-designers).
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("section_id" = i64, Path, description = "Section id")),
    responses((status = 201, body = QuestionnaireTree), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/sections/{section_id}/duplicate")]
async fn duplicate_section(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, section_id) = path.into_inner();
    let (section, questionnaire) = section_of(&state, &user, study_id, section_id, true).await?;
    actions::duplicate_section(&state.db, &origin.by(user.id), &section).await?;
    Ok(HttpResponse::Created().json(tree_of(&state, study_id, questionnaire.id).await?))
}
