//! The information sheet and consent statements in the JSON API. Members read; leads and co-designers
//! change them. A change that started from an old version gets 409 with the current one, and changes nothing.

use actix_web::{get, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::actions::{self, StoredInformation};
use super::rules::Information;
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::questionnaires::actions::Saved;
use crate::studies::questionnaires::api::{conflict, ConflictBody};
use crate::studies::questionnaires::handlers::EDITORS;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(get_information).service(put_information);
}

/// The information sheet, consent statements, withdrawal rule, retention, contact and signposting.
#[utoipa::path(
    tag = "consent",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    responses((status = 200, body = StoredInformation), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questionnaires/{questionnaire_id}/information")]
async fn get_information(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<StoredInformation>, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::open(&state.db, &user, study_id).await?;
    let questionnaire = actions::questionnaire(&state.db, study_id, questionnaire_id).await?;
    Ok(web::Json(actions::load(&state.db, questionnaire.id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct InformationBody {
    #[serde(flatten)]
    pub information: Information,
    /// The version this change started from; a different current version means someone else saved first.
    pub lock_version: Option<i32>,
}

/// Replaces the information sheet and consent statements (leads and co-designers).
#[utoipa::path(
    tag = "consent",
    params(("id" = i64, Path, description = "Study id"), ("questionnaire_id" = i64, Path, description = "Questionnaire id")),
    request_body = InformationBody,
    responses((status = 200, body = StoredInformation), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ConflictBody<StoredInformation>), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/questionnaires/{questionnaire_id}/information")]
async fn put_information(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<InformationBody>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    StudyAccess::with_role(&state.db, &user, study_id, EDITORS).await?;
    let questionnaire = actions::questionnaire(&state.db, study_id, questionnaire_id).await?;
    let lock_version = match body.lock_version {
        Some(version) => version,
        None => {
            actions::load(&state.db, questionnaire.id)
                .await?
                .lock_version
        }
    };
    match actions::update(
        &state.db,
        &origin.by(user.id),
        &questionnaire,
        lock_version,
        &body.information,
    )
    .await?
    {
        Saved::Done => {
            Ok(HttpResponse::Ok().json(actions::load(&state.db, questionnaire.id).await?))
        }
        Saved::Stale(current) => Ok(conflict(current)),
    }
}
