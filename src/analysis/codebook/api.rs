//! The codebook in the JSON API, for leads and analysts.

use actix_web::{get, post, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::actions::{self, Codebook};
use super::queries::{Change, Code};
use super::rules::CodeFields;
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(get_codebook)
        .service(add_code)
        .service(change_code)
        .service(merge_code)
        .service(codebook_history);
}

/// The live codes in reading order (seeded with the six COM-B sub-components the first time), the
/// codes merged away, the codebook's version and the COM-B and TDF terms codes map to.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Codebook), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/codebook")]
async fn get_codebook(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Codebook>, AppError> {
    let (_, codebook) = actions::open(&state.db, &user, path.into_inner()).await?;
    Ok(web::Json(codebook))
}

/// Adds a code; under a COM-B code it is deductive, anywhere else emergent.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    request_body = CodeFields,
    responses((status = 201, body = Code), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/codebook/codes")]
async fn add_code(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<CodeFields>,
) -> Result<HttpResponse, AppError> {
    let code = actions::create(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(code))
}

/// Changes or moves a code (all its fields, as sent).
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("code_id" = i64, Path, description = "Code id")),
    request_body = CodeFields,
    responses((status = 200, body = Code), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/codebook/codes/{code_id}")]
async fn change_code(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<CodeFields>,
) -> Result<web::Json<Code>, AppError> {
    let (study_id, code_id) = path.into_inner();
    let code = actions::update(
        &state.db,
        &origin.by(user.id),
        &user,
        study_id,
        code_id,
        body.into_inner(),
    )
    .await?;
    Ok(web::Json(code))
}

#[derive(Deserialize, ToSchema)]
pub struct MergeInto {
    /// The code that takes this one's place.
    pub into: i64,
}

/// Merges a code into another: it leaves the live codebook, the codes under it move, and its
/// codings count for the other.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("code_id" = i64, Path, description = "Code id")),
    request_body = MergeInto,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/codebook/codes/{code_id}/merge")]
async fn merge_code(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<MergeInto>,
) -> Result<HttpResponse, AppError> {
    let (study_id, code_id) = path.into_inner();
    actions::merge(
        &state.db,
        &origin.by(user.id),
        &user,
        study_id,
        code_id,
        body.into,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every change to the codebook, newest first, with the code's fields before and after.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Vec<Change>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/codebook/history")]
async fn codebook_history(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<Change>>, AppError> {
    let (_, changes) = actions::history(&state.db, &user, path.into_inner()).await?;
    Ok(web::Json(changes))
}
