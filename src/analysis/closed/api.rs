//! Closed-question counts in the JSON API, for leads and analysts.

use actix_web::{get, web};

use super::actions::{self, ClosedOptions, ClosedSummary};
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(closed_questions);
}

/// For each choice, yes/no/not sure, Likert and 0–10 question of a questionnaire: how many chose each
/// option (and the percentage of those who answered), overall and per group, with how many answered
/// and skipped; Likert options marked negative, neutral or positive for a diverging bar; and the
/// response funnel. With `shared=true`, counts under the study's small-count threshold are hidden,
/// with any count that would give them away.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ClosedOptions),
    responses((status = 200, body = ClosedSummary), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/closed")]
async fn closed_questions(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<ClosedOptions>,
) -> Result<web::Json<ClosedSummary>, AppError> {
    let (_, _, summary) = actions::summary(&state.db, &user, path.into_inner(), &query).await?;
    Ok(web::Json(summary))
}
