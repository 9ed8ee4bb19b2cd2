//! Suggestion pages: any member reads the open suggestions on a question or section, each with who,
//! when, why and a word-level diff against the current version; a lead or the object's author accepts
//! or rejects, the suggester withdraws. Suggestions are made from the edit forms ("Suggest this change").
//! Everything works without JavaScript.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use super::actions::{self, Decision, Loaded, SuggestionView};
use super::rules::{self, acceptance_errors, Status};
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::studies::questionnaires::actions::Saved;
use crate::studies::questionnaires::handlers::{load_question, load_section};
use crate::studies::questionnaires::history::actions::Target;
use crate::studies::questionnaires::history::handlers::{shown, ShownChange};
use crate::studies::questionnaires::queries::Questionnaire;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/studies/{id}/{kind:questions|sections}/{object}/suggestions",
        web::get().to(list_page),
    )
    .route(
        "/studies/{id}/suggestions/{suggestion}/accept",
        web::post().to(accept),
    )
    .route(
        "/studies/{id}/suggestions/{suggestion}/reject",
        web::post().to(reject),
    )
    .route(
        "/studies/{id}/suggestions/{suggestion}/withdraw",
        web::post().to(withdraw),
    );
}

/// Where a question's or section's suggestions are listed.
pub fn suggestions_url(study_id: i64, target: &Target) -> String {
    format!(
        "/studies/{study_id}/{}s/{}/suggestions",
        target.object().as_str(),
        target.id()
    )
}

#[derive(Serialize)]
struct Entry {
    suggestion: SuggestionView,
    changes: Vec<ShownChange>,
}

impl From<SuggestionView> for Entry {
    fn from(suggestion: SuggestionView) -> Self {
        Entry {
            changes: shown(&suggestion.changes),
            suggestion,
        }
    }
}

fn base_context(
    access: &StudyAccess,
    questionnaire: &Questionnaire,
    target: &Target,
) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", questionnaire);
    context.insert("kind", target.object().as_str());
    context.insert("object_id", &target.id());
    context.insert("name", target.name());
    context.insert("list_url", &suggestions_url(access.study.id, target));
    context
}

async fn list_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, String, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, kind, object_id) = path.into_inner();
    let access = StudyAccess::open(&page.state().db, &user, study_id).await?;
    let (target, questionnaire) = if kind == "questions" {
        let (question, questionnaire) = load_question(&page, study_id, object_id).await?;
        (Target::Question(Box::new(question)), questionnaire)
    } else {
        let (section, questionnaire) = load_section(&page, study_id, object_id).await?;
        (Target::Section(section), questionnaire)
    };
    let (all, author) = actions::list(&page.state().db, &target).await?;
    let open: Vec<Entry> = all
        .into_iter()
        .filter(|s| s.status == Status::Open.as_str())
        .map(Entry::from)
        .collect();
    let mut context = base_context(&access, &questionnaire, &target);
    context.insert("entries", &open);
    context.insert(
        "can_decide",
        &rules::may_decide(&access.me.roles, author == Some(user.id)),
    );
    context.insert("me", &user.id);
    page.render("questionnaires/suggestions.html", context)
}

async fn open(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
    suggestion_id: i64,
) -> Result<(StudyAccess, Loaded), AppError> {
    let access = StudyAccess::open(&page.state().db, user, study_id).await?;
    let loaded = actions::load(&page.state().db, &access, suggestion_id).await?;
    Ok((access, loaded))
}

/// The decision page again: to confirm against a newer version (409) or with what was wrong (422).
async fn decide_again(
    page: &Page,
    access: &StudyAccess,
    loaded: Loaded,
    decision: &str,
    form: &Decision,
    status: StatusCode,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let mut context = base_context(access, &loaded.questionnaire, &loaded.target);
    context.insert("lock_version", &loaded.target.lock_version());
    context.insert("decision", decision);
    context.insert("note", &form.note);
    context.insert("conflict", &(status == StatusCode::CONFLICT));
    context.insert("errors", errors);
    let entry = Entry::from(actions::view(&page.state().db, loaded).await?);
    context.insert("entry", &entry);
    page.render_status(status, "questionnaires/suggestion_decide.html", context)
}

async fn accept(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Decision>,
) -> Result<HttpResponse, AppError> {
    let (study_id, suggestion_id) = path.into_inner();
    let (access, loaded) = open(&page, &user, study_id, suggestion_id).await?;
    let db = &page.state().db;
    match actions::accept(db, &origin.by(user.id), &loaded, &form).await {
        Ok(Saved::Done) => {
            page.flash(
                "success",
                "The suggestion is accepted and the change is saved.",
            );
            Ok(see_other(&suggestions_url(study_id, &loaded.target)))
        }
        Ok(Saved::Stale(current)) => {
            // Shown against what is stored now; accepting from there is a deliberate choice.
            let loaded = Loaded {
                target: current,
                ..loaded
            };
            let none = FieldErrors::new();
            decide_again(
                &page,
                &access,
                loaded,
                "accept",
                &form,
                StatusCode::CONFLICT,
                &none,
            )
            .await
        }
        Err(AppError::Invalid(errors)) => {
            let errors = acceptance_errors(errors);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            decide_again(&page, &access, loaded, "accept", &form, status, &errors).await
        }
        Err(other) => Err(other),
    }
}

async fn reject(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Decision>,
) -> Result<HttpResponse, AppError> {
    let (study_id, suggestion_id) = path.into_inner();
    let (access, loaded) = open(&page, &user, study_id, suggestion_id).await?;
    let db = &page.state().db;
    match actions::reject(db, &origin.by(user.id), &loaded, &form.note).await {
        Ok(()) => {
            page.flash(
                "success",
                "The suggestion is rejected. Nothing was changed.",
            );
            Ok(see_other(&suggestions_url(study_id, &loaded.target)))
        }
        Err(AppError::Invalid(errors)) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            decide_again(&page, &access, loaded, "reject", &form, status, &errors).await
        }
        Err(other) => Err(other),
    }
}

async fn withdraw(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, suggestion_id) = path.into_inner();
    let (_, loaded) = open(&page, &user, study_id, suggestion_id).await?;
    match actions::withdraw(&page.state().db, &origin.by(user.id), &loaded).await {
        Ok(()) => page.flash("success", "Your suggestion is withdrawn."),
        Err(AppError::Invalid(errors)) => {
            page.flash("info", errors.into_values().collect::<Vec<_>>().join(" "))
        }
        Err(other) => return Err(other),
    }
    Ok(see_other(&suggestions_url(study_id, &loaded.target)))
}
