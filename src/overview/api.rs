//! The overview in the JSON API: a study's task list and what waits for the caller.

use actix_web::{get, web};

use super::actions::{self, StudyWaiting, TaskList};
use crate::error::{AppError, ErrorBody};
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::web::task_list::Task;
use crate::web::{AdminUser, CurrentUser};

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(study_tasks)
        .service(waiting_for_me)
        .service(setup_checklist);
}

/// The study's steps in the order the work happens (co-design group, questionnaire, information and
/// consent, sign-off and publishing, participants, campaign, interviews, analysis, report), the ones
/// the caller's roles reach, each with its status and, when it cannot start yet, why and what
/// unblocks it; and what waits for the caller in this study.
#[utoipa::path(
    tag = "studies",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = TaskList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/tasks")]
async fn study_tasks(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<TaskList>, AppError> {
    let access = StudyAccess::open(&state.db, &user, path.into_inner()).await?;
    let (list, _) = actions::task_list(&state.db, &access).await?;
    Ok(web::Json(list))
}

/// What waits for the caller, study by study: sign-offs, suggestions to decide, replies to their
/// comments, interviews today, follow-ups, double coding, and quotes to approve.
#[utoipa::path(
    tag = "accounts",
    responses((status = 200, body = Vec<StudyWaiting>), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/me/waiting")]
async fn waiting_for_me(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<StudyWaiting>>, AppError> {
    Ok(web::Json(actions::waiting(&state.db, user.id).await?))
}

/// The administrator's checklist from an empty install to the first study: the organisation's
/// details, a test email, inviting people, the first study.
#[utoipa::path(
    tag = "accounts",
    responses((status = 200, body = Vec<Task>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/admin/setup")]
async fn setup_checklist(
    _admin: AdminUser,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<Task>>, AppError> {
    let organisation = crate::web::organisation::current(&state).await?;
    Ok(web::Json(
        actions::setup_tasks(&state.db, &state.settings, &organisation).await?,
    ))
}
