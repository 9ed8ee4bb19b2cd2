//! Memo pages, for leads and analysts: every memo grouped by what it is about with a form for a
//! memo about the study, a page to write one about a code, a coded passage or a participant, and
//! changing or removing one's own. No JavaScript needed.

use actix_web::{web, HttpResponse};

use super::actions::{self, About, MemoQuery};
use super::rules::{MemoChange, NewMemo};
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::web::page::{form_field, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/studies/{id}/memos";
    cfg.route(base, web::get().to(index))
        .route(base, web::post().to(create))
        .route(&format!("{base}/new"), web::get().to(new_page))
        .route(&format!("{base}/{{memo}}/edit"), web::get().to(edit_page))
        .route(&format!("{base}/{{memo}}/edit"), web::post().to(edit))
        .route(&format!("{base}/{{memo}}/delete"), web::post().to(delete));
}

fn memos_url(study_id: i64) -> String {
    format!("/studies/{study_id}/memos")
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, memos) = actions::list(
        &page.state().db,
        &user,
        path.into_inner(),
        MemoQuery::default(),
    )
    .await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("memos", &memos);
    context.insert("body", "");
    page.render("memos/index.html", context)
}

fn new_context(study: &impl serde::Serialize, about: &About, body: &str) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("study", study);
    context.insert("about", about);
    context.insert("body", body);
    context
}

async fn new_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
    query: web::Query<MemoQuery>,
) -> Result<HttpResponse, AppError> {
    let (access, about) = actions::about(
        &page.state().db,
        &user,
        path.into_inner(),
        query.into_inner(),
    )
    .await?;
    page.render("memos/new.html", new_context(&access.study, &about, ""))
}

async fn create(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let memo = NewMemo {
        subject: form_field(&form, "subject").into(),
        subject_id: form_field(&form, "subject_id").parse().ok(),
        body: form_field(&form, "body").into(),
    };
    let query = MemoQuery {
        subject: memo.subject.clone(),
        subject_id: memo.subject_id,
    };
    let db = &page.state().db;
    match actions::create(db, &origin.by(user.id), &user, study_id, memo).await {
        Ok(memo) => {
            page.flash("success", "The memo is saved.");
            Ok(see_other(&format!(
                "{}#memo-{}",
                memos_url(study_id),
                memo.id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            // Shown again beside what it is about; a subject that is not the study's stays a 422.
            let (access, about) = actions::about(db, &user, study_id, query)
                .await
                .map_err(|_| AppError::Invalid(errors.clone()))?;
            page.render_form(
                "memos/new.html",
                new_context(&access.study, &about, form_field(&form, "body")),
                &errors,
            )
        }
        Err(other) => Err(other),
    }
}

async fn edit_form(
    page: &Page,
    user: &CurrentUser,
    (study_id, memo_id): (i64, i64),
    typed: Option<&str>,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (access, view) = actions::editable(&page.state().db, user, study_id, memo_id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("body", typed.unwrap_or(&view.memo.body));
    context.insert("memo", &view);
    page.render_form("memos/edit.html", context, errors)
}

async fn edit_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    edit_form(&page, &user, path.into_inner(), None, &FieldErrors::new()).await
}

async fn edit(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, memo_id) = path.into_inner();
    let change = MemoChange {
        body: form_field(&form, "body").into(),
    };
    let outcome = actions::change(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        memo_id,
        change,
    )
    .await;
    match outcome {
        Ok(memo) => {
            page.flash("success", "The memo is changed.");
            Ok(see_other(&format!(
                "{}#memo-{}",
                memos_url(study_id),
                memo.id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            let typed = form_field(&form, "body");
            edit_form(&page, &user, (study_id, memo_id), Some(typed), &errors).await
        }
        Err(other) => Err(other),
    }
}

async fn delete(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, memo_id) = path.into_inner();
    actions::remove(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        memo_id,
    )
    .await?;
    page.flash("success", "The memo is removed.");
    Ok(see_other(&memos_url(study_id)))
}
