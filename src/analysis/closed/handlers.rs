//! The closed-questions page (leads and analysts): a chart per question (SVG drawn on the server)
//! with its accessible table of counts and percentages, for the team or ready to share. No
//! JavaScript needed.

use actix_web::{web, HttpResponse};

use super::actions::{self, ClosedOptions};
use super::figures;
use crate::error::AppError;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/studies/{id}/closed", web::get().to(index));
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
    query: web::Query<ClosedOptions>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let db = &page.state().db;
    let (access, questionnaires, summary) =
        match actions::summary(db, &user, study_id, &query).await {
            Err(AppError::NotFound) if query.questionnaire_id.is_none() => {
                // Nothing published yet: the page says so.
                let (access, list) =
                    crate::analysis::exports::actions::exportable(db, &user, study_id).await?;
                let mut context = tera::Context::new();
                context.insert("study", &access.study);
                context.insert("questionnaires", &list);
                context.insert("summary", &Option::<()>::None);
                context.insert("versions", &Vec::<()>::new());
                context.insert("figures", &Vec::<()>::new());
                return page.render("closed/index.html", context);
            }
            other => other?,
        };
    let versions = questionnaires
        .iter()
        .find(|q| q.id == summary.questionnaire_id)
        .map(|q| q.versions.clone())
        .unwrap_or_default();
    let figures: Vec<_> = summary
        .questions
        .iter()
        .map(|q| figures::figure(q, summary.threshold))
        .collect();
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaires", &questionnaires);
    context.insert("versions", &versions);
    context.insert("figures", &figures);
    context.insert("summary", &Some(summary));
    page.render("closed/index.html", context)
}
