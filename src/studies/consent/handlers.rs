//! Information-sheet pages: every member reads the sheet as participants will see it; leads and
//! co-designers change it on a plain form (no JavaScript), with errors beside fields and input kept.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::actions::{self, StoredInformation};
use super::rules::{self, ConsentStatement, Information, STATEMENTS_MAX};
use crate::audit::Origin;
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::questionnaires::actions::Saved;
use crate::studies::questionnaires::handlers::EDITORS;
use crate::studies::questionnaires::queries::Questionnaire;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/studies/{id}/questionnaires/{q}/information",
        web::get().to(show),
    )
    .route(
        "/studies/{id}/questionnaires/{q}/information/edit",
        web::get().to(edit_page),
    )
    .route(
        "/studies/{id}/questionnaires/{q}/information/edit",
        web::post().to(edit),
    );
}

fn information_url(questionnaire: &Questionnaire) -> String {
    format!(
        "/studies/{}/questionnaires/{}/information",
        questionnaire.study_id, questionnaire.id
    )
}

async fn show(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    let db = &page.state().db;
    let access = StudyAccess::open(db, &user, study_id).await?;
    let questionnaire = actions::questionnaire(db, study_id, questionnaire_id).await?;
    let stored = actions::load(db, questionnaire.id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", &questionnaire);
    context.insert("info", &stored.information);
    context.insert("can_edit", &access.me.roles.can_edit_questionnaires());
    page.render("consent/information.html", context)
}

/// One form row per statement, plus blank rows to add more, up to the limit.
fn statement_rows(statements: &[ConsentStatement]) -> Vec<ConsentStatement> {
    let mut rows = statements.to_vec();
    let wanted = (statements.len() + 2).clamp(4, STATEMENTS_MAX.max(statements.len()));
    rows.resize(wanted, ConsentStatement::default());
    rows
}

fn form_context(
    access: &StudyAccess,
    questionnaire: &Questionnaire,
    info: &Information,
    withdrawal_days: &str,
    lock_version: i32,
) -> tera::Context {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", questionnaire);
    context.insert("info", info);
    context.insert("withdrawal_days", withdrawal_days);
    context.insert("statements", &statement_rows(&info.consent_statements));
    context.insert("lock_version", &lock_version);
    context
}

async fn edit_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    let db = &page.state().db;
    let access = StudyAccess::with_role(db, &user, study_id, EDITORS).await?;
    let questionnaire = actions::questionnaire(db, study_id, questionnaire_id).await?;
    let stored = actions::load(db, questionnaire.id).await?;
    let days = stored.information.withdrawal_days.to_string();
    page.render(
        "consent/information_form.html",
        form_context(
            &access,
            &questionnaire,
            &stored.information,
            &days,
            stored.lock_version,
        ),
    )
}

/// The posted form: named fields, and `statement_N` / `statement_N_required` rows.
struct InformationForm {
    info: Information,
    withdrawal_days: String,
    lock_version: Option<i32>,
}

impl InformationForm {
    fn parse(fields: &[(String, String)]) -> Self {
        let get = |name: &str| {
            fields
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
                .unwrap_or_default()
        };
        let withdrawal_days = get("withdrawal_days");
        let consent_statements = (0..STATEMENTS_MAX)
            .map(|index| {
                let field = rules::statement_field(index);
                ConsentStatement {
                    text: get(&field),
                    required: !get(&format!("{field}_required")).is_empty(),
                }
            })
            .collect();
        InformationForm {
            info: Information {
                summary: get("summary"),
                full_text: get("full_text"),
                data_use: get("data_use"),
                // Anything that is not a whole number fails the range rule, with its message.
                withdrawal_days: withdrawal_days.trim().parse().unwrap_or(-1),
                withdrawal_after: get("withdrawal_after"),
                retention: get("retention"),
                contact: get("contact"),
                signposting: get("signposting"),
                consent_statements,
            },
            withdrawal_days,
            lock_version: get("lock_version").parse().ok(),
        }
    }
}

async fn edit(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id) = path.into_inner();
    let db = &page.state().db;
    let access = StudyAccess::with_role(db, &user, study_id, EDITORS).await?;
    let questionnaire = actions::questionnaire(db, study_id, questionnaire_id).await?;
    let form = InformationForm::parse(&form);
    let lock_version = match form.lock_version {
        Some(version) => version,
        None => actions::load(db, questionnaire.id).await?.lock_version,
    };
    let template = "consent/information_form.html";
    match actions::update(
        db,
        &origin.by(user.id),
        &questionnaire,
        lock_version,
        &form.info,
    )
    .await
    {
        Ok(Saved::Done) => {
            page.flash(
                "success",
                "The information sheet and consent statements are saved.",
            );
            Ok(see_other(&information_url(&questionnaire)))
        }
        Ok(Saved::Stale(StoredInformation {
            information,
            lock_version,
        })) => {
            let mut context = form_context(
                &access,
                &questionnaire,
                &form.info,
                &form.withdrawal_days,
                lock_version,
            );
            context.insert("conflict", &information);
            page.render_status(StatusCode::CONFLICT, template, context)
        }
        Err(AppError::Invalid(errors)) => page.render_invalid(
            template,
            form_context(
                &access,
                &questionnaire,
                &form.info,
                &form.withdrawal_days,
                lock_version,
            ),
            &errors,
        ),
        Err(other) => Err(other),
    }
}
