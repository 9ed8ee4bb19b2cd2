//! Export and import in the JSON API. Members export; leads and co-designers import.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::actions;
use super::handlers::download;
use super::rules::{self, QuestionnaireFile};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::consent::actions::questionnaire;
use crate::studies::questionnaires::handlers::EDITORS;
use crate::studies::questionnaires::queries::Questionnaire;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(export).service(import);
}

/// The draft as a questionnaire file (format "voices.questionnaire", version 1), as a download.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    responses((status = 200, body = QuestionnaireFile), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questionnaires/{questionnaire_id}/export")]
async fn export(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::open(&state.db, &user, study_id).await?;
    let (found, file) =
        actions::export(&state.db, &origin.by(user.id), study_id, questionnaire_id).await?;
    download(&found, &file)
}

#[derive(Serialize, ToSchema)]
#[schema(as = QuestionnaireImported)]
pub struct Imported {
    pub questionnaire: Questionnaire,
}

/// Creates a new draft questionnaire from a questionnaire file (leads and co-designers). Everything is
/// checked first with the editor's rules; any problem gives 422 with each problem at its JSON path
/// (e.g. `sections[1].questions[3].options`, counting from 0) and nothing is created.
#[utoipa::path(
    tag = "questionnaires",
    params(("id" = i64, Path, description = "Study id")),
    request_body = QuestionnaireFile,
    responses((status = 201, body = Imported), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questionnaires/import")]
async fn import(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    id: web::Path<i64>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::with_role(&state.db, &user, id.into_inner(), EDITORS).await?;
    // Read as text here, not through `web::Json`, so a malformed file is reported like any other problem.
    let text = std::str::from_utf8(&body)
        .map_err(|_| AppError::invalid("$", "The file must be UTF-8 text"))?;
    let file = rules::parse(text).map_err(AppError::Invalid)?;
    let study_id = access.study.id;
    let new_id = actions::import(&state.db, &origin.by(user.id), study_id, file).await?;
    let created = questionnaire(&state.db, study_id, new_id).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/v1/studies/{study_id}/questionnaires/{new_id}"),
        ))
        .json(Imported {
            questionnaire: created,
        }))
}
