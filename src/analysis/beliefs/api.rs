//! Belief statements in the JSON API, for leads and analysts.

use actix_web::{delete, get, post, put, web, HttpResponse};

use super::actions::{self, BeliefView, CodeBeliefs};
use super::rules::{BeliefChange, NewBelief};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(list_beliefs)
        .service(add_belief)
        .service(change_belief)
        .service(remove_belief);
}

/// Belief statements grouped by code (merged codes followed), each with its supporting passages:
/// quote, valence and the participant's pseudonym.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Vec<CodeBeliefs>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/beliefs")]
async fn list_beliefs(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<CodeBeliefs>>, AppError> {
    let (_, grouped) = actions::list(&state.db, &user, path.into_inner()).await?;
    Ok(web::Json(grouped))
}

/// Writes a belief statement (1 to 1,000 characters) about a code, linked to passages of the
/// study's coding coded with it; any other passage is refused beside `coding_ids`.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    request_body = NewBelief,
    responses((status = 201, body = BeliefView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/beliefs")]
async fn add_belief(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<NewBelief>,
) -> Result<HttpResponse, AppError> {
    let made = actions::create(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(made))
}

/// Rewrites a belief statement and replaces its passages (its author, or a lead).
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("belief_id" = i64, Path, description = "Belief statement id")),
    request_body = BeliefChange,
    responses((status = 200, body = BeliefView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/beliefs/{belief_id}")]
async fn change_belief(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<BeliefChange>,
) -> Result<web::Json<BeliefView>, AppError> {
    let (study_id, belief_id) = path.into_inner();
    let changed = actions::change(
        &state.db,
        &origin.by(user.id),
        &user,
        study_id,
        belief_id,
        body.into_inner(),
    )
    .await?;
    Ok(web::Json(changed))
}

/// Removes a belief statement (its author, or a lead); the passages stay coded.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("belief_id" = i64, Path, description = "Belief statement id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/studies/{id}/beliefs/{belief_id}")]
async fn remove_belief(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, belief_id) = path.into_inner();
    actions::remove(&state.db, &origin.by(user.id), &user, study_id, belief_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
