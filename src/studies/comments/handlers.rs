//! Discussion pages: one per question and per section, listing open threads, then resolved ones, with
//! forms to start a thread, reply, resolve and reopen. Every action works without JavaScript.

use std::collections::HashMap;

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::actions;
use super::queries::{Commented, Thread};
use super::rules::{self, ObjectType};
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/studies/{id}/questions/{qn}/comments",
        web::get().to(question_page),
    )
    .route(
        "/studies/{id}/questions/{qn}/comments",
        web::post().to(start_on_question),
    )
    .route(
        "/studies/{id}/sections/{s}/comments",
        web::get().to(section_page),
    )
    .route(
        "/studies/{id}/sections/{s}/comments",
        web::post().to(start_on_section),
    )
    .route(
        "/studies/{id}/comments/{thread}/replies",
        web::post().to(reply),
    )
    .route(
        "/studies/{id}/comments/{thread}/resolve",
        web::post().to(resolve),
    )
    .route(
        "/studies/{id}/comments/{thread}/reopen",
        web::post().to(reopen),
    );
}

/// What the person typed and must see again when it was refused.
#[derive(Default)]
struct Draft {
    body: String,
    reply_to: Option<i64>,
    reply: String,
}

/// Each thread's reply box carries the thread's id in its name: ids stay unique on a page with many
/// threads, and an error lands beside the right box.
fn reply_field(thread_id: i64) -> String {
    format!("reply-{thread_id}")
}

async fn render(
    page: &Page,
    access: &StudyAccess,
    object: &Commented,
    draft: &Draft,
    errors: Option<&FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let threads = actions::threads(&page.state().db, object).await?;
    let view = |thread: Thread| {
        let kept = if draft.reply_to == Some(thread.id) {
            draft.reply.as_str()
        } else {
            ""
        };
        serde_json::json!({
            "can_resolve": rules::may_resolve(&access.me.roles, access.me.user_id, thread.opening.author_user_id),
            "reply_field": reply_field(thread.id),
            "reply": kept,
            "thread": thread,
        })
    };
    let (open, resolved): (Vec<Thread>, Vec<Thread>) = threads
        .into_iter()
        .partition(|thread| thread.resolved_at.is_none());
    let open: Vec<_> = open.into_iter().map(view).collect();
    let resolved: Vec<_> = resolved.into_iter().map(view).collect();
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", &object.questionnaire);
    context.insert("object", object);
    context.insert("open_threads", &open);
    context.insert("resolved_threads", &resolved);
    context.insert("body", &draft.body);
    let template = "comments/discussion.html";
    match errors {
        Some(errors) => page.render_invalid(template, context, errors),
        None => page.render(template, context),
    }
}

async fn show(
    user: CurrentUser,
    page: Page,
    (study_id, object_id): (i64, i64),
    object_type: ObjectType,
) -> Result<HttpResponse, AppError> {
    let db = &page.state().db;
    let access = StudyAccess::open(db, &user, study_id).await?;
    let object = actions::object(db, study_id, object_type, object_id).await?;
    render(&page, &access, &object, &Draft::default(), None).await
}

async fn question_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    show(user, page, path.into_inner(), ObjectType::Question).await
}

async fn section_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    show(user, page, path.into_inner(), ObjectType::Section).await
}

#[derive(Deserialize)]
struct CommentForm {
    #[serde(default)]
    body: String,
}

async fn start(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    (study_id, object_id): (i64, i64),
    object_type: ObjectType,
    form: CommentForm,
) -> Result<HttpResponse, AppError> {
    let db = &page.state().db;
    let access = StudyAccess::open(db, &user, study_id).await?;
    let object = actions::object(db, study_id, object_type, object_id).await?;
    match actions::start_thread(db, &origin.by(user.id), &access, &object, &form.body).await {
        Ok(id) => {
            page.flash("success", "Your comment is posted.");
            Ok(see_other(&format!("{}#thread-{id}", object.page_url())))
        }
        Err(AppError::Invalid(errors)) => {
            let draft = Draft {
                body: form.body,
                ..Draft::default()
            };
            render(&page, &access, &object, &draft, Some(&errors)).await
        }
        Err(other) => Err(other),
    }
}

async fn start_on_question(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<CommentForm>,
) -> Result<HttpResponse, AppError> {
    let (path, form) = (path.into_inner(), form.into_inner());
    start(user, page, origin, path, ObjectType::Question, form).await
}

async fn start_on_section(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<CommentForm>,
) -> Result<HttpResponse, AppError> {
    let (path, form) = (path.into_inner(), form.into_inner());
    start(user, page, origin, path, ObjectType::Section, form).await
}

async fn reply(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, thread_id) = path.into_inner();
    let db = &page.state().db;
    let access = StudyAccess::open(db, &user, study_id).await?;
    let head = actions::thread_head(db, study_id, thread_id).await?;
    let object = actions::object_of(db, study_id, &head).await?;
    let field = reply_field(thread_id);
    let body = form.get(&field).cloned().unwrap_or_default();
    match actions::reply(db, &origin.by(user.id), &access, &head, &body).await {
        Ok(id) => {
            page.flash("success", "Your reply is posted.");
            Ok(see_other(&format!("{}#comment-{id}", object.page_url())))
        }
        Err(AppError::Invalid(errors)) => {
            let errors: FieldErrors = errors
                .into_values()
                .map(|message| (field.clone(), message))
                .collect();
            let draft = Draft {
                reply_to: Some(thread_id),
                reply: body,
                ..Draft::default()
            };
            render(&page, &access, &object, &draft, Some(&errors)).await
        }
        Err(other) => Err(other),
    }
}

async fn set_resolved(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    (study_id, thread_id): (i64, i64),
    resolved: bool,
) -> Result<HttpResponse, AppError> {
    let db = &page.state().db;
    let access = StudyAccess::open(db, &user, study_id).await?;
    let head = actions::thread_head(db, study_id, thread_id).await?;
    let object = actions::object_of(db, study_id, &head).await?;
    actions::set_resolved(db, &origin.by(user.id), &access, &head, resolved).await?;
    page.flash(
        "success",
        if resolved {
            "The discussion is resolved. It is kept under “Resolved discussions”."
        } else {
            "The discussion is open again."
        },
    );
    Ok(see_other(&format!(
        "{}#thread-{thread_id}",
        object.page_url()
    )))
}

async fn resolve(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    set_resolved(user, page, origin, path.into_inner(), true).await
}

async fn reopen(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    set_resolved(user, page, origin, path.into_inner(), false).await
}
