//! Memos in the JSON API, for leads and analysts: read them (all, or about one subject or thing),
//! write, rewrite and remove them (the author, or a lead).

use actix_web::{delete, get, post, put, web, HttpResponse};

use super::actions::{self, MemoQuery, MemoView};
use super::queries::Memo;
use super::rules::{MemoChange, NewMemo};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(list_memos)
        .service(add_memo)
        .service(change_memo)
        .service(remove_memo);
}

/// The study's memos, oldest first, each with what it is about (a code's name, a coded passage's
/// words and participant code, a participant's code) and whether the caller may change it.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), MemoQuery),
    responses((status = 200, body = Vec<MemoView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/memos")]
async fn list_memos(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<MemoQuery>,
) -> Result<web::Json<Vec<MemoView>>, AppError> {
    let (_, memos) = actions::list(&state.db, &user, path.into_inner(), query.into_inner()).await?;
    Ok(web::Json(memos))
}

/// Writes a memo about the study, a code, a coded passage (of the study's coding) or a sent
/// response. 1 to 10,000 characters.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    request_body = NewMemo,
    responses((status = 201, body = Memo), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/memos")]
async fn add_memo(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<NewMemo>,
) -> Result<HttpResponse, AppError> {
    let memo = actions::create(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(memo))
}

/// Rewrites a memo (its author, or a lead).
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("memo_id" = i64, Path, description = "Memo id")),
    request_body = MemoChange,
    responses((status = 200, body = Memo), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/memos/{memo_id}")]
async fn change_memo(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<MemoChange>,
) -> Result<web::Json<Memo>, AppError> {
    let (study_id, memo_id) = path.into_inner();
    let memo = actions::change(
        &state.db,
        &origin.by(user.id),
        &user,
        study_id,
        memo_id,
        body.into_inner(),
    )
    .await?;
    Ok(web::Json(memo))
}

/// Removes a memo (its author, or a lead).
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("memo_id" = i64, Path, description = "Memo id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[delete("/studies/{id}/memos/{memo_id}")]
async fn remove_memo(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, memo_id) = path.into_inner();
    actions::remove(&state.db, &origin.by(user.id), &user, study_id, memo_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
