//! The involvement tracker in the JSON API, for leads and analysts.

use actix_web::{get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::actions::{self, ProjectView, Series};
use super::rules::{self, ProjectFields, Rule, RuleFields, StageFields};
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::ErrorBody;
use crate::state::AppState;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(list_projects)
        .service(add_project)
        .service(change_project)
        .service(record_stages)
        .service(get_rule)
        .service(put_rule)
        .service(get_series);
}

/// Every project in the register, with its stage records and whether it meets the study's rule
/// today (and if not, why not).
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Vec<ProjectView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/tracker/projects")]
async fn list_projects(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<ProjectView>>, AppError> {
    let (_, tracker) = actions::tracker(&state.db, &user, path.into_inner(), None, None).await?;
    Ok(web::Json(tracker.projects))
}

/// Adds a project to the register. Dates are year-month-day.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    request_body = ProjectFields,
    responses((status = 201, body = ProjectView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/tracker/projects")]
async fn add_project(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<ProjectFields>,
) -> Result<HttpResponse, AppError> {
    let project = actions::create(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(project))
}

/// Changes a project (all its fields, as sent).
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("project_id" = i64, Path, description = "Project id")),
    request_body = ProjectFields,
    responses((status = 200, body = ProjectView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/tracker/projects/{project_id}")]
async fn change_project(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<ProjectFields>,
) -> Result<web::Json<ProjectView>, AppError> {
    let (study_id, project_id) = path.into_inner();
    let project = actions::update(
        &state.db,
        &origin.by(user.id),
        &user,
        study_id,
        project_id,
        body.into_inner(),
    )
    .await?;
    Ok(web::Json(project))
}

/// One stage a project reached.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct StageRecordBody {
    /// idea, aims, understanding, ideas, testing, implementing or sharing.
    pub stage: String,
    /// Year-month-day.
    pub reached_on: String,
    /// none, informed, consulted, involved or co_produced.
    pub involvement_level: String,
    /// Service users and carers who were core team members at this stage.
    pub suc_core_members: Option<i64>,
    /// One decision per line.
    pub decisions_influenced: String,
    pub feedback_given: String,
}

/// All of a project's stage records: stages left out are not reached.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct StagesBody {
    pub stages: Vec<StageRecordBody>,
}

/// Replaces a project's stage records. Problems come back keyed `{stage}-{field}`
/// (`aims-reached_on`); recording a stage beyond the stage reached moves the project on to it.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), ("project_id" = i64, Path, description = "Project id")),
    request_body = StagesBody,
    responses((status = 200, body = ProjectView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/tracker/projects/{project_id}/stages")]
async fn record_stages(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<StagesBody>,
) -> Result<web::Json<ProjectView>, AppError> {
    let (study_id, project_id) = path.into_inner();
    let fields = body
        .into_inner()
        .stages
        .into_iter()
        .map(|s| StageFields {
            stage: s.stage,
            reached_on: s.reached_on,
            involvement_level: s.involvement_level,
            suc_core_members: s
                .suc_core_members
                .map(|n| n.to_string())
                .unwrap_or_default(),
            decisions_influenced: s.decisions_influenced,
            feedback_given: s.feedback_given,
        })
        .collect();
    let project = actions::record_stages(
        &state.db,
        &origin.by(user.id),
        &user,
        study_id,
        project_id,
        fields,
    )
    .await?;
    Ok(web::Json(project))
}

/// The study's rule for meaningful involvement, and its target.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Rule), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/tracker/rule")]
async fn get_rule(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
) -> Result<web::Json<Rule>, AppError> {
    let (_, rule) = actions::rule(&state.db, &user, path.into_inner()).await?;
    Ok(web::Json(rule))
}

/// A new rule; fields left out take their defaults (from setting aims, 1 core member, 1 influence,
/// no minimum level, target 80).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct RuleBody {
    pub meaningful_from: String,
    pub min_core_members: i64,
    pub min_influences: i64,
    /// none, informed, consulted, involved or co_produced; null for no minimum.
    pub min_level: Option<String>,
    pub target_percent: i64,
}

impl Default for RuleBody {
    fn default() -> Self {
        let rule = Rule::default();
        RuleBody {
            meaningful_from: rule.meaningful_from.code().into(),
            min_core_members: rule.min_core_members.into(),
            min_influences: rule.min_influences.into(),
            min_level: None,
            target_percent: rule.target_percent.into(),
        }
    }
}

/// Changes the rule and the target: the register and the series follow at once.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id")),
    request_body = RuleBody,
    responses((status = 200, body = Rule), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/tracker/rule")]
async fn put_rule(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<RuleBody>,
) -> Result<web::Json<Rule>, AppError> {
    let body = body.into_inner();
    let fields = RuleFields {
        meaningful_from: body.meaningful_from,
        min_core_members: body.min_core_members.to_string(),
        min_influences: body.min_influences.to_string(),
        min_level: body.min_level.unwrap_or_default(),
        target_percent: body.target_percent.to_string(),
    };
    let rule = actions::set_rule(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        fields,
    )
    .await?;
    Ok(web::Json(rule))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// Only this service's projects.
    pub service: Option<String>,
    /// The last month, as year-month (2026-11); this month when left out.
    pub to: Option<String>,
}

/// Reads a year-month (2026-11) as the month's first day.
pub fn parse_month(text: &str) -> Result<chrono::NaiveDate, AppError> {
    rules::parse_date(&format!("{}-01", text.trim()), "")
        .map_err(|_| AppError::invalid("to", "Give the month as year-month, for example 2026-11"))
}

/// Month by month from the first project's start: active projects, those meeting the rule at the
/// month's end and the percentage (null when none was active), with the latest month in words.
#[utoipa::path(
    tag = "analysis",
    params(("id" = i64, Path, description = "Study id"), SeriesQuery),
    responses((status = 200, body = Series), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/tracker/series")]
async fn get_series(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    query: web::Query<SeriesQuery>,
) -> Result<web::Json<Series>, AppError> {
    let query = query.into_inner();
    let to = query.to.as_deref().map(parse_month).transpose()?;
    let series = actions::series(&state.db, &user, path.into_inner(), query.service, to).await?;
    Ok(web::Json(series))
}
