//! Subject access in the JSON API.

use actix_web::{get, web};

use super::actions::{self, SubjectAccess};
use crate::audit::Origin;
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::CurrentUser;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(subject_access);
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
