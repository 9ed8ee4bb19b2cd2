//! Sign-off and versions pages: where the questionnaire stands, signing off, the lead's status change,
//! sign-off rule and publishing, and reading and comparing published versions. No JavaScript needed.

use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::actions;
use super::rules::{self, SignOffRule};
use crate::audit::Origin;
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::consent::actions::questionnaire;
use crate::studies::questionnaires::queries::Questionnaire;
use crate::studies::rules::StudyRole;
use crate::web::page::see_other;
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/studies/{id}/questionnaires/{q}";
    cfg.route(&format!("{base}/versions"), web::get().to(index))
        .route(&format!("{base}/versions/{{n}}"), web::get().to(show))
        .route(&format!("{base}/compare"), web::get().to(compare))
        .route(&format!("{base}/sign-off"), web::post().to(sign_off))
        .route(&format!("{base}/status"), web::post().to(change_status))
        .route(&format!("{base}/publish"), web::post().to(publish))
        .route(&format!("{base}/sign-off-rule"), web::get().to(rule_page))
        .route(&format!("{base}/sign-off-rule"), web::post().to(set_rule));
}

const LEAD: &[StudyRole] = &[StudyRole::Lead];

fn versions_url(questionnaire: &Questionnaire) -> String {
    format!(
        "/studies/{}/questionnaires/{}/versions",
        questionnaire.study_id, questionnaire.id
    )
}

async fn open(
    page: &Page,
    user: &CurrentUser,
    path: (i64, i64),
    roles: Option<&[StudyRole]>,
) -> Result<(StudyAccess, Questionnaire), AppError> {
    let db = &page.state().db;
    let access = match roles {
        Some(roles) => StudyAccess::with_role(db, user, path.0, roles).await?,
        None => StudyAccess::open(db, user, path.0).await?,
    };
    let found = questionnaire(db, path.0, path.1).await?;
    Ok((access, found))
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (access, questionnaire) = open(&page, &user, path.into_inner(), None).await?;
    let db = &page.state().db;
    let state = actions::state(db, &questionnaire).await?;
    let versions = actions::versions(db, questionnaire.id).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", &questionnaire);
    context.insert("is_lead", &access.me.roles.lead);
    context.insert(
        "may_sign",
        &(rules::may_sign(&state.rule, &access.me)
            && !state
                .sign_offs
                .iter()
                .any(|s| s.current && s.user_id == access.me.user_id)),
    );
    context.insert("next_version", &(state.latest_version.unwrap_or(0) + 1));
    context.insert("state", &state);
    context.insert("versions", &versions);
    page.render("versions/index.html", context)
}

/// Shows what went wrong on the page the person came from, as the editor does for refused moves.
fn done_or_explained(
    page: &Page,
    result: Result<(), AppError>,
    success: &str,
    questionnaire: &Questionnaire,
) -> Result<HttpResponse, AppError> {
    match result {
        Ok(()) => page.flash("success", success),
        Err(AppError::Invalid(errors)) => {
            page.flash("info", errors.into_values().collect::<Vec<_>>().join(" "))
        }
        Err(other) => return Err(other),
    }
    Ok(see_other(&versions_url(questionnaire)))
}

async fn sign_off(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (access, questionnaire) = open(&page, &user, path.into_inner(), None).await?;
    let result = actions::sign_off(
        &page.state().db,
        &origin.by(user.id),
        &questionnaire,
        &access.me,
    )
    .await;
    done_or_explained(
        &page,
        result,
        "You have signed off the questionnaire as it is now. Any change to it will need your sign-off again.",
        &questionnaire,
    )
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    status: String,
}

async fn change_status(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<StatusForm>,
) -> Result<HttpResponse, AppError> {
    let (_, questionnaire) = open(&page, &user, path.into_inner(), Some(LEAD)).await?;
    let result = actions::change_status(
        &page.state().db,
        &origin.by(user.id),
        &questionnaire,
        &form.status,
    )
    .await;
    let message = format!("The questionnaire is now in {}.", form.status.trim());
    done_or_explained(&page, result, &message, &questionnaire)
}

async fn publish(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (_, questionnaire) = open(&page, &user, path.into_inner(), Some(LEAD)).await?;
    match actions::publish(
        &page.state().db,
        &origin.by(user.id),
        questionnaire.study_id,
        questionnaire.id,
        user.id,
    )
    .await
    {
        Ok(number) => {
            page.flash(
                "success",
                format!("Version {number} is published. It can never be changed; later edits go into the next version."),
            );
            Ok(see_other(&format!(
                "{}/{number}",
                versions_url(&questionnaire)
            )))
        }
        Err(error) => done_or_explained(&page, Err(error), "", &questionnaire),
    }
}

async fn rule_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (access, questionnaire) = open(&page, &user, path.into_inner(), Some(LEAD)).await?;
    let state = actions::state(&page.state().db, &questionnaire).await?;
    render_rule(&page, &access, &questionnaire, &state.rule, None).await
}

async fn render_rule(
    page: &Page,
    access: &StudyAccess,
    questionnaire: &Questionnaire,
    rule: &SignOffRule,
    error: Option<crate::error::FieldErrors>,
) -> Result<HttpResponse, AppError> {
    let study_id = access.study.id;
    let members = page
        .state()
        .db
        .read(move |conn| crate::studies::queries::members(conn, study_id).map_err(AppError::from))
        .await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", questionnaire);
    context.insert("members", &members);
    context.insert("rule", rule);
    match error {
        Some(errors) => page.render_invalid("versions/rule_form.html", context, &errors),
        None => page.render("versions/rule_form.html", context),
    }
}

async fn set_rule(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (access, questionnaire) = open(&page, &user, path.into_inner(), Some(LEAD)).await?;
    let checked = |name: &str| form.iter().any(|(key, _)| key == name);
    let rule = SignOffRule {
        member_ids: form
            .iter()
            .filter_map(|(key, _)| key.strip_prefix("member_")?.parse().ok())
            .collect(),
        needs_advisor: checked("needs_advisor"),
        needs_staff: checked("needs_staff"),
    };
    match actions::set_rule(&page.state().db, &origin.by(user.id), &questionnaire, &rule).await {
        Ok(()) => {
            page.flash("success", "The sign-off rule is saved.");
            Ok(see_other(&versions_url(&questionnaire)))
        }
        Err(AppError::Invalid(errors)) => {
            render_rule(&page, &access, &questionnaire, &rule, Some(errors)).await
        }
        Err(other) => Err(other),
    }
}

async fn show(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64, i32)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, questionnaire_id, number) = path.into_inner();
    let (access, questionnaire) = open(&page, &user, (study_id, questionnaire_id), None).await?;
    let version = actions::version(&page.state().db, questionnaire.id, number).await?;
    let numbers = crate::studies::questionnaires::rules::numbering(
        version
            .snapshot
            .sections
            .iter()
            .flat_map(|s| s.questions.iter())
            .map(|q| q.id),
    );
    let term_labels = crate::studies::questionnaires::actions::term_labels(page.state()).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", &questionnaire);
    context.insert("version", &version);
    context.insert("numbers", &numbers);
    context.insert("term_labels", &*term_labels);
    context.insert(
        "kinds",
        &crate::studies::questionnaires::handlers::kind_options(),
    );
    page.render("versions/show.html", context)
}

#[derive(Deserialize)]
struct CompareQuery {
    from: i32,
    to: i32,
}

async fn compare(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
    query: web::Query<CompareQuery>,
) -> Result<HttpResponse, AppError> {
    let (access, questionnaire) = open(&page, &user, path.into_inner(), None).await?;
    let comparison =
        actions::compare(&page.state().db, questionnaire.id, query.from, query.to).await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("questionnaire", &questionnaire);
    context.insert("comparison", &comparison);
    page.render("versions/compare.html", context)
}
