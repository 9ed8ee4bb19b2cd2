//! Double-coding pages: the rounds (and starting one, for leads), a coder's blind coding page, and
//! the lead's agreement page with the disagreements side by side and a consensus form for each.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::actions::{self, AgreementReport, ConsensusForm, RoundForm};
use crate::analysis::coding;
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::web::page::{form_field, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/studies/{id}/rounds", web::get().to(index))
        .route("/studies/{id}/rounds", web::post().to(create))
        .route("/studies/{id}/rounds/{round}", web::get().to(code_page))
        .route(
            "/studies/{id}/rounds/{round}/agreement",
            web::get().to(agreement),
        )
        .route(
            "/studies/{id}/rounds/{round}/consensus",
            web::post().to(consensus),
        );
}

async fn index_page(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
    form: &serde_json::Value,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (access, rounds, coders) = actions::list(&page.state().db, user, study_id).await?;
    let (_, overview) = coding::actions::overview(page.state(), user, study_id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("is_lead", &access.me.roles.lead);
    context.insert("rounds", &rounds);
    context.insert("coders", &coders);
    context.insert("questions", &overview.questions);
    context.insert("form", form);
    page.render_form("rounds/index.html", context, errors)
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let blank = serde_json::json!({ "name": "", "unit": "character", "first": "", "second": "", "questions": [] });
    index_page(&page, &user, path.into_inner(), &blank, &FieldErrors::new()).await
}

async fn create(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let questions: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "question")
        .map(|(_, v)| v.clone())
        .collect();
    let round = RoundForm {
        name: form_field(&form, "name").into(),
        unit: form_field(&form, "unit").into(),
        first_coder_id: form_field(&form, "first_coder_id").parse().ok(),
        second_coder_id: form_field(&form, "second_coder_id").parse().ok(),
        question_ids: questions.iter().filter_map(|q| q.parse().ok()).collect(),
    };
    match actions::create(
        &page.state().db,
        &origin.by(user.id),
        &user,
        study_id,
        round,
    )
    .await
    {
        Ok(round) => {
            page.flash(
                "success",
                format!(
                    "The round \u{201c}{}\u{201d} has started. Its coders will find it here.",
                    round.name
                ),
            );
            Ok(see_other(&format!("/studies/{study_id}/rounds")))
        }
        Err(AppError::Invalid(errors)) => {
            let typed = serde_json::json!({
                "name": form_field(&form, "name"), "unit": form_field(&form, "unit"),
                "first": form_field(&form, "first_coder_id"),
                "second": form_field(&form, "second_coder_id"), "questions": questions,
            });
            index_page(&page, &user, study_id, &typed, &errors).await
        }
        Err(other) => Err(other),
    }
}

#[derive(Deserialize)]
struct PageQuery {
    page: Option<i64>,
}

async fn code_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let (study_id, round_id) = path.into_inner();
    actions::as_coder(&page.state().db, &user, study_id, round_id).await?;
    coding::handlers::round_page(user, page, study_id, round_id, query.page).await
}

fn agreement_context(access: &StudyAccess, report: &AgreementReport) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("report", report);
    context
}

async fn agreement_page(
    page: &Page,
    user: &CurrentUser,
    (study_id, round_id): (i64, i64),
    failed: &ConsensusForm,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let (access, report) =
        actions::agreement_report(page.state(), user, study_id, round_id).await?;
    let mut context = agreement_context(&access, &report);
    context.insert(
        "failed",
        &serde_json::json!({
            "key": format!("{}-{}-{}", failed.answer_id, failed.field, failed.code_id),
            "decision": failed.decision, "note": failed.note,
        }),
    );
    page.render_form("rounds/agreement.html", context, errors)
}

async fn agreement(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let none = ConsensusForm::default();
    agreement_page(&page, &user, path.into_inner(), &none, &FieldErrors::new()).await
}

async fn consensus(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, round_id) = path.into_inner();
    let decision = ConsensusForm {
        answer_id: form_field(&form, "answer_id").parse().unwrap_or_default(),
        field: form_field(&form, "field").into(),
        code_id: form_field(&form, "code_id").parse().unwrap_or_default(),
        decision: form_field(&form, "decision").into(),
        note: form_field(&form, "note").into(),
    };
    let db = &page.state().db;
    match actions::decide(
        db,
        &origin.by(user.id),
        &user,
        study_id,
        round_id,
        decision.clone(),
    )
    .await
    {
        Ok(()) => {
            page.flash("success", "The consensus is recorded.");
            Ok(see_other(&format!(
                "/studies/{study_id}/rounds/{round_id}/agreement#disagreement-{}-{}-{}",
                decision.answer_id, decision.field, decision.code_id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            agreement_page(&page, &user, (study_id, round_id), &decision, &errors).await
        }
        Err(other) => Err(other),
    }
}
