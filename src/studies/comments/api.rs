//! Comment threads in the JSON API. Every study member reads, starts threads and replies; the thread's
//! author, a lead or a co-designer resolves and reopens.

use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::actions;
use super::queries::{Commented, Thread};
use super::rules::ObjectType;
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(question_threads)
        .service(section_threads)
        .service(start_on_question)
        .service(start_on_section)
        .service(reply)
        .service(resolve)
        .service(reopen);
}

#[derive(Deserialize, ToSchema)]
pub struct CommentBody {
    /// Plain text, 1 to 4000 characters; line breaks are kept.
    pub body: String,
}

async fn list(
    state: &AppState,
    user: &CurrentUser,
    (study_id, object_id): (i64, i64),
    object_type: ObjectType,
) -> Result<Vec<Thread>, AppError> {
    StudyAccess::open(&state.db, user, study_id).await?;
    let object = actions::object(&state.db, study_id, object_type, object_id).await?;
    actions::threads(&state.db, &object).await
}

/// The thread with this id, as it is now, after a change to it.
async fn thread_now(
    state: &AppState,
    object: &Commented,
    thread_id: i64,
) -> Result<Thread, AppError> {
    actions::threads(&state.db, object)
        .await?
        .into_iter()
        .find(|thread| thread.id == thread_id)
        .ok_or(AppError::NotFound)
}

/// The discussion threads on a question: open ones first, then resolved, each oldest first.
#[utoipa::path(
    tag = "comments",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id")),
    responses((status = 200, body = [Thread]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/questions/{question_id}/comments")]
async fn question_threads(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Vec<Thread>>, AppError> {
    Ok(web::Json(
        list(&state, &user, path.into_inner(), ObjectType::Question).await?,
    ))
}

/// The discussion threads on a section: open ones first, then resolved, each oldest first.
#[utoipa::path(
    tag = "comments",
    params(("id" = i64, Path, description = "Study id"), ("section_id" = i64, Path, description = "Section id")),
    responses((status = 200, body = [Thread]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/sections/{section_id}/comments")]
async fn section_threads(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Vec<Thread>>, AppError> {
    Ok(web::Json(
        list(&state, &user, path.into_inner(), ObjectType::Section).await?,
    ))
}

async fn start(
    state: &AppState,
    user: &CurrentUser,
    origin: Origin,
    (study_id, object_id): (i64, i64),
    object_type: ObjectType,
    body: &str,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::open(&state.db, user, study_id).await?;
    let object = actions::object(&state.db, study_id, object_type, object_id).await?;
    let id = actions::start_thread(&state.db, &origin.by(user.id), &access, &object, body).await?;
    Ok(HttpResponse::Created().json(thread_now(state, &object, id).await?))
}

/// Starts a thread on a question (any study member).
#[utoipa::path(
    tag = "comments",
    params(("id" = i64, Path, description = "Study id"), ("question_id" = i64, Path, description = "Question id")),
    request_body = CommentBody,
    responses((status = 201, body = Thread), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/questions/{question_id}/comments")]
async fn start_on_question(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<CommentBody>,
) -> Result<HttpResponse, AppError> {
    let path = path.into_inner();
    start(
        &state,
        &user,
        origin,
        path,
        ObjectType::Question,
        &body.body,
    )
    .await
}

/// Starts a thread on a section (any study member).
#[utoipa::path(
    tag = "comments",
    params(("id" = i64, Path, description = "Study id"), ("section_id" = i64, Path, description = "Section id")),
    request_body = CommentBody,
    responses((status = 201, body = Thread), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/sections/{section_id}/comments")]
async fn start_on_section(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<CommentBody>,
) -> Result<HttpResponse, AppError> {
    let path = path.into_inner();
    start(&state, &user, origin, path, ObjectType::Section, &body.body).await
}

/// Replies to an open thread (any study member); returns the whole thread.
#[utoipa::path(
    tag = "comments",
    params(("id" = i64, Path, description = "Study id"), ("comment_id" = i64, Path, description = "The thread's first comment")),
    request_body = CommentBody,
    responses((status = 201, body = Thread), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/comments/{comment_id}/replies")]
async fn reply(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    body: web::Json<CommentBody>,
) -> Result<HttpResponse, AppError> {
    let (study_id, thread_id) = path.into_inner();
    let access = StudyAccess::open(&state.db, &user, study_id).await?;
    let head = actions::thread_head(&state.db, study_id, thread_id).await?;
    let object = actions::object_of(&state.db, study_id, &head).await?;
    actions::reply(&state.db, &origin.by(user.id), &access, &head, &body.body).await?;
    Ok(HttpResponse::Created().json(thread_now(&state, &object, thread_id).await?))
}

async fn set_resolved(
    state: &AppState,
    user: &CurrentUser,
    origin: Origin,
    (study_id, thread_id): (i64, i64),
    resolved: bool,
) -> Result<web::Json<Thread>, AppError> {
    let access = StudyAccess::open(&state.db, user, study_id).await?;
    let head = actions::thread_head(&state.db, study_id, thread_id).await?;
    let object = actions::object_of(&state.db, study_id, &head).await?;
    actions::set_resolved(&state.db, &origin.by(user.id), &access, &head, resolved).await?;
    Ok(web::Json(thread_now(state, &object, thread_id).await?))
}

/// Resolves a thread (its author, a lead or a co-designer); resolving a resolved thread changes nothing.
#[utoipa::path(
    tag = "comments",
    params(("id" = i64, Path, description = "Study id"), ("comment_id" = i64, Path, description = "The thread's first comment")),
    responses((status = 200, body = Thread), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/comments/{comment_id}/resolve")]
async fn resolve(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Thread>, AppError> {
    set_resolved(&state, &user, origin, path.into_inner(), true).await
}

/// Reopens a resolved thread (its author, a lead or a co-designer).
#[utoipa::path(
    tag = "comments",
    params(("id" = i64, Path, description = "Study id"), ("comment_id" = i64, Path, description = "The thread's first comment")),
    responses((status = 200, body = Thread), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/comments/{comment_id}/reopen")]
async fn reopen(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<Thread>, AppError> {
    set_resolved(&state, &user, origin, path.into_inner(), false).await
}
