//! Coding in the JSON API, for leads and analysts: sources by question or by response, coding
//! passages and taking codings back. Offsets count Unicode characters, end exclusive.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::actions::{self, Overview, SourcesPage};
use super::queries::{Coding, Scope, View};
use super::rules::NewCoding;
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(coding_overview)
        .service(question_sources)
        .service(response_sources)
        .service(add_codings)
        .service(remove_coding);
}

#[derive(Deserialize, IntoParams)]
pub struct PageQuery {
    /// Page of 25 sources, from 1.
    pub page: Option<i64>,
}

/// Per question: sent answers with text and how many are coded; per response (pseudonymised): its
/// codings so far.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Overview), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/coding")]
async fn coding_overview(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Overview>, AppError> {
    let (_, overview) = actions::overview(&state, &user, path.into_inner()).await?;
    Ok(web::Json(overview))
}

async fn sources_page(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    scope: Scope,
    page: Option<i64>,
) -> Result<web::Json<SourcesPage>, AppError> {
    let (_, _, listing) = actions::sources(
        state,
        user,
        study_id,
        (scope, View::Study),
        page.unwrap_or(1),
    )
    .await?;
    Ok(web::Json(listing))
}

/// The answers to one question (answers and interview notes), with their codings and the codes the
/// question's COM-B tags suggest.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id"), PageQuery),
    responses((status = 200, body = SourcesPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/coding/questions/{question_id}")]
async fn question_sources(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<SourcesPage>, AppError> {
    let (study_id, question_id) = path.into_inner();
    sources_page(
        &state,
        &user,
        study_id,
        Scope::Question(question_id),
        query.page,
    )
    .await
}

/// One response's answers and notes, with their codings.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("response_id" = i64, Path, description = "Response id"), PageQuery),
    responses((status = 200, body = SourcesPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/coding/responses/{response_id}")]
async fn response_sources(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<SourcesPage>, AppError> {
    let (study_id, response_id) = path.into_inner();
    sources_page(
        &state,
        &user,
        study_id,
        Scope::Response(response_id),
        query.page,
    )
    .await
}

/// Codes a passage of an answer or of interview notes with one or more codes and a valence. Give
/// `start` and `end` (characters, end exclusive), or the passage's words, or neither for the
/// whole text. Coding the same passage with the same code again changes nothing.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    request_body = NewCoding,
    responses((status = 201, body = Vec<Coding>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/codings")]
async fn add_codings(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<NewCoding>,
) -> Result<HttpResponse, AppError> {
    let made = actions::code(
        &state,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(made))
}

/// Takes a coding back (its coder or a lead).
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("coding_id" = i64, Path, description = "Coding id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/studies/{id}/codings/{coding_id}")]
async fn remove_coding(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, coding_id) = path.into_inner();
    actions::uncode(&state, &origin.by(user.id), &user, study_id, coding_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
