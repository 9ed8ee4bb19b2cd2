//! Preview pages: the draft or a published version through one audience's eyes, chosen with plain links.

use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::actions;
use super::rules::AUDIENCES;
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/studies/{id}/questionnaires/{q}";
    cfg.route(&format!("{base}/preview"), web::get().to(draft))
        .route(
            &format!("{base}/versions/{{n}}/preview"),
            web::get().to(version),
        );
}

#[derive(Deserialize)]
pub struct AudienceQuery {
    #[serde(rename = "as")]
    pub audience: Option<String>,
}

#[derive(Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
}

async fn draft(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
    query: web::Query<AudienceQuery>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    show(&page, &user, study_id, questionnaire_id, None, &query).await
}

async fn version(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64, i32)>,
    query: web::Query<AudienceQuery>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id, number) = path.into_inner();
    show(
        &page,
        &user,
        study_id,
        questionnaire_id,
        Some(number),
        &query,
    )
    .await
}

async fn show(
    page: &Page,
    user: &CurrentUser,
    study_id: i64,
    questionnaire_id: i64,
    version: Option<i32>,
    query: &AudienceQuery,
) -> Result<HttpResponse, AppError> {
    let access = StudyAccess::open(&page.state().db, user, study_id).await?;
    let audience = actions::audience(query.audience.as_deref())?;
    let (questionnaire, preview) = actions::preview(
        &page.state().db,
        study_id,
        questionnaire_id,
        version,
        audience,
    )
    .await?;
    let choices: Vec<Choice> = AUDIENCES
        .iter()
        .map(|a| Choice {
            value: a.as_str(),
            label: a.label(),
        })
        .collect();
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", &questionnaire);
    context.insert("version", &version);
    context.insert("audience", audience.as_str());
    context.insert("audience_label", audience.label());
    context.insert("choices", &choices);
    context.insert("preview", &preview);
    context.insert(
        "term_labels",
        &*crate::studies::questionnaires::actions::term_labels(page.state()).await?,
    );
    page.render("preview/show.html", context)
}
