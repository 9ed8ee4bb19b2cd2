//! Double coding in the JSON API. Coders code in a round with `POST /codings` and its `round_id`.

use actix_web::{get, post, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::actions::{self, AgreementReport, CoderChoice, ConsensusForm, RoundForm, RoundSummary};
use super::queries::Round;
use crate::analysis::coding::actions::{sources, SourcesPage};
use crate::analysis::coding::api::PageQuery;
use crate::analysis::coding::queries::{Scope, View};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(list_rounds)
        .service(start_round)
        .service(round_sources)
        .service(round_agreement)
        .service(record_consensus);
}

#[derive(Serialize, ToSchema)]
pub struct Rounds {
    pub rounds: Vec<RoundSummary>,
    /// The study's leads and analysts, who may code in a round.
    pub coders: Vec<CoderChoice>,
}

/// Every round for leads; analysts see the rounds they code in.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Rounds), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/rounds")]
async fn list_rounds(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Rounds>, AppError> {
    let (_, rounds, coders) = actions::list(&state.db, &user, path.into_inner()).await?;
    Ok(web::Json(Rounds { rounds, coders }))
}

/// Starts a double-coding round (leads): two coders, the questions whose sent answers they code,
/// and the unit agreement is counted in.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    request_body = RoundForm,
    responses((status = 201, body = Round), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/rounds")]
async fn start_round(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<RoundForm>,
) -> Result<HttpResponse, AppError> {
    let round = actions::create(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(round))
}

/// A round's sources for one of its coders, with that coder's codings only.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("round_id" = i64, Path, description = "Round id"), PageQuery),
    responses((status = 200, body = SourcesPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/rounds/{round_id}/sources")]
async fn round_sources(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<SourcesPage>, AppError> {
    let (study_id, round_id) = path.into_inner();
    actions::as_coder(&state.db, &user, study_id, round_id).await?;
    let view = View::Round {
        round_id,
        coder: Some(user.id),
    };
    let (_, _, listing) = sources(
        &state,
        &user,
        study_id,
        (Scope::Round(round_id), view),
        query.page.unwrap_or(1),
    )
    .await?;
    Ok(web::Json(listing))
}

/// Agreement between the round's coders (leads): per code and pooled, percentage and Cohen's kappa
/// in the round's unit, and each disagreement side by side with any consensus recorded.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("round_id" = i64, Path, description = "Round id")),
    responses((status = 200, body = AgreementReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/rounds/{round_id}/agreement")]
async fn round_agreement(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<AgreementReport>, AppError> {
    let (study_id, round_id) = path.into_inner();
    let (_, report) = actions::agreement_report(&state, &user, study_id, round_id).await?;
    Ok(web::Json(report))
}

/// Records a consensus on one disagreement (leads): the passages kept join the study's coding.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("round_id" = i64, Path, description = "Round id")),
    request_body = ConsensusForm,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/rounds/{round_id}/consensus")]
async fn record_consensus(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<ConsensusForm>,
) -> Result<HttpResponse, AppError> {
    let (study_id, round_id) = path.into_inner();
    actions::decide(
        &state.db,
        &origin.by(user.id),
        &user,
        study_id,
        round_id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
