//! Tracker pages, for leads and analysts: the register with its run chart (filtered by service with
//! a plain GET form), adding and changing a project, recording each stage (one fieldset per stage),
//! and the rule. No JavaScript needed.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::actions::{self, ProjectView, Tracker};
use super::rules::{Level, ProjectFields, Rule, RuleFields, Stage, StageFields};
use crate::analysis::charts::{self, DataTable, Figure};
use crate::audit::Origin;
use crate::error::{AppError, FieldErrors};
use crate::studies::access::StudyAccess;
use crate::web::page::{form_field, see_other};
use crate::web::{CurrentUser, Page};

pub fn routes(cfg: &mut web::ServiceConfig) {
    let base = "/studies/{id}/tracker";
    cfg.route(base, web::get().to(index))
        .route(base, web::post().to(create))
        .route(&format!("{base}/new"), web::get().to(new_page))
        .route(&format!("{base}/rule"), web::get().to(rule_page))
        .route(&format!("{base}/rule"), web::post().to(change_rule))
        .route(
            &format!("{base}/{{project}}/edit"),
            web::get().to(edit_page),
        )
        .route(&format!("{base}/{{project}}/edit"), web::post().to(edit))
        .route(
            &format!("{base}/{{project}}/stages"),
            web::get().to(stages_page),
        )
        .route(
            &format!("{base}/{{project}}/stages"),
            web::post().to(record_stages),
        );
}

fn tracker_url(study_id: i64) -> String {
    format!("/studies/{study_id}/tracker")
}

fn field(pairs: &[(String, String)], name: &str) -> String {
    form_field(pairs, name).to_string()
}

#[derive(Serialize)]
struct Choice {
    value: &'static str,
    label: &'static str,
}

fn stage_choices() -> Vec<Choice> {
    Stage::ALL
        .iter()
        .map(|s| Choice {
            value: s.code(),
            label: s.label(),
        })
        .collect()
}

fn level_choices() -> Vec<Choice> {
    Level::ALL
        .iter()
        .map(|l| Choice {
            value: l.code(),
            label: l.label(),
        })
        .collect()
}

/// The run chart of the series, with a table that also gives the counts.
pub(crate) fn run_chart(tracker: &Tracker) -> Figure {
    let short = |month: &str| {
        NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .map(|d| d.format("%b %Y").to_string())
            .unwrap_or_else(|_| month.to_string())
    };
    let points: Vec<(String, Option<f64>)> = tracker
        .months
        .iter()
        .map(|m| (short(&m.month), m.percent))
        .collect();
    let scope = tracker
        .service
        .as_ref()
        .map_or_else(|| "all services".to_string(), |s| s.clone());
    let title = format!("Active projects with meaningful involvement, {scope}");
    let description = format!(
        "Monthly percentage of active improvement projects meeting the rule, against the target of {}%, with the median. {}",
        tracker.rule.target_percent, tracker.summary
    );
    let mut figure = charts::run_chart(
        "tracker-run-chart",
        &points,
        f64::from(tracker.rule.target_percent),
        &title,
        &description,
    );
    figure.table = DataTable {
        caption: format!("{title}, by month"),
        columns: vec![
            "Month".into(),
            "Active projects".into(),
            "Meeting the rule".into(),
            "Percentage".into(),
        ],
        rows: tracker
            .months
            .iter()
            .map(|m| {
                vec![
                    m.label.clone(),
                    m.active.to_string(),
                    m.meaningful.to_string(),
                    m.percent
                        .map_or_else(|| "no active projects".to_string(), charts::percent_text),
                ]
            })
            .collect(),
    };
    figure
}

fn rule_words(rule: &Rule) -> String {
    let people = if rule.min_core_members == 1 {
        "at least one service user or carer".to_string()
    } else {
        format!("at least {} service users or carers", rule.min_core_members)
    };
    let influences = if rule.min_influences == 1 {
        "at least one decision they influenced is recorded".to_string()
    } else {
        format!(
            "at least {} decisions they influenced are recorded",
            rule.min_influences
        )
    };
    let level = rule
        .min_level
        .map(|l| {
            format!(
                ", and one of those stages was {} or more",
                l.label().to_lowercase()
            )
        })
        .unwrap_or_default();
    format!(
        "A project counts as meaningful when {people} sat on the core team at a stage from {} on, {influences}{level}.",
        rule.meaningful_from.label().to_lowercase()
    )
}

#[derive(Deserialize)]
struct Filter {
    service: Option<String>,
}

async fn index(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
    query: web::Query<Filter>,
) -> Result<HttpResponse, AppError> {
    let (access, tracker) = actions::tracker(
        &page.state().db,
        &user,
        path.into_inner(),
        query.into_inner().service,
        None,
    )
    .await?;
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("figure", &run_chart(&tracker));
    context.insert("rule_words", &rule_words(&tracker.rule));
    context.insert("service", &tracker.service.clone().unwrap_or_default());
    context.insert("tracker", &tracker);
    page.render("tracker/index.html", context)
}

fn project_form(
    page: &Page,
    access: &StudyAccess,
    project: Option<&ProjectView>,
    form: &ProjectFields,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("project", &project);
    context.insert("form", form);
    context.insert("closed_on", &form.closed_on.clone().unwrap_or_default());
    context.insert("stages", &stage_choices());
    page.render_form("tracker/project.html", context, errors)
}

fn project_from_form(pairs: &[(String, String)]) -> ProjectFields {
    ProjectFields {
        name: field(pairs, "name"),
        service: field(pairs, "service"),
        team: field(pairs, "team"),
        started_on: field(pairs, "started_on"),
        closed_on: Some(field(pairs, "closed_on")),
        stage_reached: field(pairs, "stage_reached"),
    }
}

async fn new_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, _) = actions::rule(&page.state().db, &user, path.into_inner()).await?;
    let form = ProjectFields {
        stage_reached: Stage::Idea.code().into(),
        ..ProjectFields::default()
    };
    project_form(&page, &access, None, &form, &FieldErrors::new())
}

async fn create(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let fields = project_from_form(&form);
    let db = &page.state().db;
    match actions::create(db, &origin.by(user.id), &user, study_id, fields.clone()).await {
        Ok(project) => {
            page.flash(
                "success",
                format!(
                    "\u{201c}{}\u{201d} is in the register. Record each stage it has reached.",
                    project.name
                ),
            );
            Ok(see_other(&format!(
                "{}/{}/stages",
                tracker_url(study_id),
                project.id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            let (access, _) = actions::rule(db, &user, study_id).await?;
            project_form(&page, &access, None, &fields, &errors)
        }
        Err(other) => Err(other),
    }
}

async fn edit_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, project_id) = path.into_inner();
    let (access, project) = actions::project(&page.state().db, &user, study_id, project_id).await?;
    project_form(
        &page,
        &access,
        Some(&project),
        &project.fields(),
        &FieldErrors::new(),
    )
}

async fn edit(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, project_id) = path.into_inner();
    let fields = project_from_form(&form);
    let db = &page.state().db;
    match actions::update(
        db,
        &origin.by(user.id),
        &user,
        study_id,
        project_id,
        fields.clone(),
    )
    .await
    {
        Ok(project) => {
            page.flash(
                "success",
                format!("\u{201c}{}\u{201d} is saved.", project.name),
            );
            Ok(see_other(&format!(
                "{}#project-{}",
                tracker_url(study_id),
                project.id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            let (access, project) = actions::project(db, &user, study_id, project_id).await?;
            project_form(&page, &access, Some(&project), &fields, &errors)
        }
        Err(other) => Err(other),
    }
}

/// One stage's fieldset: its name and label, and its fields as typed.
#[derive(Serialize)]
struct StageForm {
    code: &'static str,
    label: &'static str,
    #[serde(flatten)]
    fields: StageFields,
}

fn stages_form(
    page: &Page,
    access: &StudyAccess,
    project: &ProjectView,
    fields: Vec<StageFields>,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let stages: Vec<StageForm> = Stage::ALL
        .iter()
        .zip(fields)
        .map(|(stage, fields)| StageForm {
            code: stage.code(),
            label: stage.label(),
            fields,
        })
        .collect();
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("project", project);
    context.insert("stages", &stages);
    context.insert("levels", &level_choices());
    context.insert("started_on", &super::rules::long_date(project.started_on));
    page.render_form("tracker/stages.html", context, errors)
}

fn stages_from_form(pairs: &[(String, String)]) -> Vec<StageFields> {
    Stage::ALL
        .iter()
        .map(|stage| {
            let get = |name: &str| field(pairs, &format!("{}-{name}", stage.code()));
            StageFields {
                stage: stage.code().into(),
                reached_on: get("reached_on"),
                involvement_level: get("involvement_level"),
                suc_core_members: get("suc_core_members"),
                decisions_influenced: get("decisions_influenced"),
                feedback_given: get("feedback_given"),
            }
        })
        .collect()
}

async fn stages_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, project_id) = path.into_inner();
    let (access, project) = actions::project(&page.state().db, &user, study_id, project_id).await?;
    let fields = project.stage_fields();
    stages_form(&page, &access, &project, fields, &FieldErrors::new())
}

async fn record_stages(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<(i64, i64)>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let (study_id, project_id) = path.into_inner();
    let fields = stages_from_form(&form);
    let db = &page.state().db;
    match actions::record_stages(
        db,
        &origin.by(user.id),
        &user,
        study_id,
        project_id,
        fields.clone(),
    )
    .await
    {
        Ok(project) => {
            let verdict = if project.meaningful {
                "It meets the rule for meaningful involvement."
            } else {
                "It does not meet the rule for meaningful involvement yet."
            };
            page.flash(
                "success",
                format!(
                    "The stages of \u{201c}{}\u{201d} are saved. {verdict}",
                    project.name
                ),
            );
            Ok(see_other(&format!(
                "{}#project-{}",
                tracker_url(study_id),
                project.id
            )))
        }
        Err(AppError::Invalid(errors)) => {
            let (access, project) = actions::project(db, &user, study_id, project_id).await?;
            stages_form(&page, &access, &project, fields, &errors)
        }
        Err(other) => Err(other),
    }
}

fn rule_form(
    page: &Page,
    access: &StudyAccess,
    form: &RuleFields,
    errors: &FieldErrors,
) -> Result<HttpResponse, AppError> {
    let mut context = tera::Context::new();
    context.insert("study", &access.study);
    context.insert("form", form);
    context.insert("stages", &stage_choices());
    context.insert("levels", &level_choices());
    page.render_form("tracker/rule.html", context, errors)
}

async fn rule_page(
    user: CurrentUser,
    page: Page,
    path: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    let (access, rule) = actions::rule(&page.state().db, &user, path.into_inner()).await?;
    rule_form(
        &page,
        &access,
        &RuleFields::from(&rule),
        &FieldErrors::new(),
    )
}

async fn change_rule(
    user: CurrentUser,
    page: Page,
    origin: Origin,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    let study_id = path.into_inner();
    let fields = RuleFields {
        meaningful_from: field(&form, "meaningful_from"),
        min_core_members: field(&form, "min_core_members"),
        min_influences: field(&form, "min_influences"),
        min_level: field(&form, "min_level"),
        target_percent: field(&form, "target_percent"),
    };
    let db = &page.state().db;
    match actions::set_rule(db, &origin.by(user.id), &user, study_id, fields.clone()).await {
        Ok(rule) => {
            page.flash(
                "success",
                format!("The rule is saved. {}", rule_words(&rule)),
            );
            Ok(see_other(&tracker_url(study_id)))
        }
        Err(AppError::Invalid(errors)) => {
            let (access, _) = actions::rule(db, &user, study_id).await?;
            rule_form(&page, &access, &fields, &errors)
        }
        Err(other) => Err(other),
    }
}
