//! History pages: any member reads a question's or section's history; leads and co-designers restore an
//! earlier version from a confirmation page that asks why. Everything works without JavaScript.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::actions::{self, RestoreInput, RevisionView, Target};
use super::diff::to_html;
use super::rules::{restore_errors, FieldChange};
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::studies::questionnaires::actions::Saved;
use crate::studies::questionnaires::handlers::{editor_access, load_question, load_section};
use crate::studies::questionnaires::queries::Questionnaire;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/studies/{id}/{kind:questions|sections}/{object}/history",
        web::get().to(history_page),
    )
    .route(
        "/studies/{id}/{kind:questions|sections}/{object}/history/{revision}/restore",
        web::get().to(restore_page),
    )
    .route(
        "/studies/{id}/{kind:questions|sections}/{object}/history/{revision}/restore",
        web::post().to(restore),
    );
}

async fn load_target(
    page: &Page,
    study_id: i64,
    kind: &str,
    object_id: i64,
) -> Result<(Target, Questionnaire), AppError> {
    Ok(match kind {
        "questions" => {
            let (question, questionnaire) = load_question(page, study_id, object_id).await?;
            (Target::Question(Box::new(question)), questionnaire)
        }
        _ => {
            let (section, questionnaire) = load_section(page, study_id, object_id).await?;
            (Target::Section(section), questionnaire)
        }
    })
}

fn history_url(study_id: i64, kind: &str, object_id: i64) -> String {
    format!("/studies/{study_id}/{kind}/{object_id}/history")
}

/// A changed field as the page shows it: its label and the diff as escaped HTML.
#[derive(Serialize)]
pub(crate) struct ShownChange {
    label: String,
    html: String,
}

pub(crate) fn shown(changes: &[FieldChange]) -> Vec<ShownChange> {
    changes
        .iter()
        .map(|c| ShownChange {
            label: c.label.clone(),
            html: to_html(&c.segments),
        })
        .collect()
}

#[derive(Serialize)]
struct Entry {
    revision: RevisionView,
    changes: Vec<ShownChange>,
}

fn base_context(
    access: &StudyAccess,
    questionnaire: &Questionnaire,
    target: &Target,
    kind: &str,
) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", questionnaire);
    context.insert("kind", kind);
    context.insert("object_id", &target.id());
    context.insert("name", target.name());
    context
}

/// Newest first: who, when, why and what changed; a fixed number of queries however long the history.
async fn history_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, String, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, kind, object_id) = path.into_inner();
    let access = StudyAccess::open(&page.state().db, &user, study_id).await?;
    let (target, questionnaire) = load_target(&page, study_id, &kind, object_id).await?;
    let entries: Vec<Entry> = actions::history(&page.state().db, &target)
        .await?
        .into_iter()
        .map(|revision| Entry {
            changes: shown(&revision.changes),
            revision,
        })
        .collect();
    let mut context = base_context(&access, &questionnaire, &target, &kind);
    context.insert("entries", &entries);
    context.insert("can_restore", &access.me.roles.can_edit_questionnaires());
    page.render("questionnaires/history.html", context)
}

struct RestoreView<'a> {
    access: &'a StudyAccess,
    questionnaire: &'a Questionnaire,
    target: &'a Target,
    kind: &'a str,
    revision_id: i64,
}

async fn restore_context(
    page: &Page,
    view: RestoreView<'_>,
    form: &RestoreInput,
) -> Result<tera::Context, AppError> {
    let (revision, changes) =
        actions::preview(&page.state().db, view.target, view.revision_id).await?;
    let mut context = base_context(view.access, view.questionnaire, view.target, view.kind);
    context.insert("revision", &revision);
    context.insert("changes", &shown(&changes));
    context.insert("lock_version", &view.target.lock_version());
    context.insert("reason", &form.reason);
    Ok(context)
}

async fn restore_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, String, i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, kind, object_id, revision_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let (target, questionnaire) = load_target(&page, study_id, &kind, object_id).await?;
    let view = RestoreView {
        access: &access,
        questionnaire: &questionnaire,
        target: &target,
        kind: &kind,
        revision_id,
    };
    let context = restore_context(&page, view, &RestoreInput::default()).await?;
    page.render("questionnaires/restore.html", context)
}

async fn restore(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, String, i64, i64)>,
    form: web::Form<RestoreInput>,
) -> Result<HttpResponse, AppError> {
    let (study_id, kind, object_id, revision_id) = path.into_inner();
    let access = editor_access(&page, &user, study_id).await?;
    let (target, questionnaire) = load_target(&page, study_id, &kind, object_id).await?;
    let template = "questionnaires/restore.html";
    let db = &page.state().db;
    match actions::restore(db, &origin.by(user.id), &target, revision_id, &form).await {
        Ok(Saved::Done) => {
            page.flash("success", "The earlier version is restored.");
            Ok(see_other(&history_url(study_id, &kind, object_id)))
        }
        Ok(Saved::Stale(current)) => {
            // Compared afresh with what is stored now; restoring again from here is a deliberate choice.
            let view = RestoreView {
                access: &access,
                questionnaire: &questionnaire,
                target: &current,
                kind: &kind,
                revision_id,
            };
            let mut context = restore_context(&page, view, &form).await?;
            context.insert("conflict", &true);
            page.render_status(StatusCode::CONFLICT, template, context)
        }
        Err(AppError::Invalid(errors)) => {
            let view = RestoreView {
                access: &access,
                questionnaire: &questionnaire,
                target: &target,
                kind: &kind,
                revision_id,
            };
            let context = restore_context(&page, view, &form).await?;
            let errors: FieldErrors = restore_errors(errors);
            page.render_invalid(template, context, &errors)
        }
        Err(other) => Err(other),
    }
}
