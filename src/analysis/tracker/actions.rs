//! What leads and analysts do with the involvement tracker: read the register and its monthly
//! series, add and change projects, record what happened at each stage, and change the rule.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::queries::{self, ProjectRow, StageRow};
use super::rules::{
    self, assess, influences, Level, MonthFigure, ProjectFacts, ProjectFields, Rule, RuleFields,
    Stage, StageFields,
};
use crate::analysis::codebook::actions::CODERS;
use crate::audit::{self, Origin};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::web::CurrentUser;

/// What happened at one stage a project reached.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StageView {
    pub stage: Stage,
    pub label: String,
    pub reached_on: NaiveDate,
    pub involvement_level: Level,
    pub level_label: String,
    /// Service users and carers who were core team members at this stage.
    pub suc_core_members: u32,
    /// One decision per line.
    pub decisions_influenced: String,
    /// How many decisions that is (non-empty lines).
    pub influences: u32,
    pub feedback_given: String,
}

/// A project in the register, with whether it meets the study's rule today.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProjectView {
    pub id: i64,
    pub name: String,
    pub service: String,
    pub team: String,
    pub started_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    pub stage_reached: Stage,
    pub stage_label: String,
    /// The stages recorded, in order.
    pub stages: Vec<StageView>,
    /// The level at the latest stage recorded.
    pub latest_level: Option<Level>,
    /// SU&C core members at the latest stage recorded.
    pub core_members: Option<u32>,
    pub meaningful: bool,
    /// Why it does not meet the rule (empty when it does).
    pub reasons: Vec<String>,
}

impl ProjectView {
    /// The project's fields as its form shows them.
    pub fn fields(&self) -> ProjectFields {
        ProjectFields {
            name: self.name.clone(),
            service: self.service.clone(),
            team: self.team.clone(),
            started_on: self.started_on.to_string(),
            closed_on: self.closed_on.map(|d| d.to_string()),
            stage_reached: self.stage_reached.code().into(),
        }
    }

    /// The stage records as the stage form shows them: one per stage, blank when not reached.
    pub fn stage_fields(&self) -> Vec<StageFields> {
        Stage::ALL
            .iter()
            .map(|stage| {
                self.stages.iter().find(|s| s.stage == *stage).map_or_else(
                    || StageFields {
                        stage: stage.code().into(),
                        ..StageFields::default()
                    },
                    |s| StageFields {
                        stage: stage.code().into(),
                        reached_on: s.reached_on.to_string(),
                        involvement_level: s.involvement_level.code().into(),
                        suc_core_members: s.suc_core_members.to_string(),
                        decisions_influenced: s.decisions_influenced.clone(),
                        feedback_given: s.feedback_given.clone(),
                    },
                )
            })
            .collect()
    }
}

/// The register, its monthly series and the latest month in words.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tracker {
    pub rule: Rule,
    /// The service shown, when filtered.
    pub service: Option<String>,
    pub projects: Vec<ProjectView>,
    /// Every service with a project, for the filter.
    pub services: Vec<String>,
    pub months: Vec<MonthFigure>,
    pub summary: String,
}

/// The monthly series on its own, as the API gives it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Series {
    pub service: Option<String>,
    pub target_percent: u32,
    pub months: Vec<MonthFigure>,
    /// The latest month against the target, in words.
    pub summary: String,
}

pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn view(row: &ProjectRow, stages: &[&StageRow], rule: &Rule, today: NaiveDate) -> ProjectView {
    let mut stages: Vec<StageView> = stages
        .iter()
        .map(|s| StageView {
            stage: s.stage(),
            label: s.stage().label().into(),
            reached_on: s.reached_on,
            involvement_level: s.level(),
            level_label: s.level().label().into(),
            suc_core_members: s.suc_core_members.max(0) as u32,
            influences: influences(&s.decisions_influenced),
            decisions_influenced: s.decisions_influenced.clone(),
            feedback_given: s.feedback_given.clone(),
        })
        .collect();
    stages.sort_by_key(|s| s.stage);
    let records: Vec<_> = stages_records(&stages);
    let assessment = assess(rule, &records, today);
    let stage_reached = Stage::parse(&row.stage_reached).unwrap_or(Stage::Idea);
    ProjectView {
        id: row.id,
        name: row.name.clone(),
        service: row.service.clone(),
        team: row.team.clone(),
        started_on: row.started_on,
        closed_on: row.closed_on,
        stage_reached,
        stage_label: stage_reached.label().into(),
        latest_level: stages.last().map(|s| s.involvement_level),
        core_members: stages.last().map(|s| s.suc_core_members),
        stages,
        meaningful: assessment.meaningful,
        reasons: assessment.reasons,
    }
}

fn stages_records(stages: &[StageView]) -> Vec<rules::StageRecord> {
    stages
        .iter()
        .map(|s| rules::StageRecord {
            stage: s.stage,
            reached_on: s.reached_on,
            level: s.involvement_level,
            core_members: s.suc_core_members,
            decisions_influenced: s.decisions_influenced.clone(),
        })
        .collect()
}

fn load(
    conn: &mut DbConnection,
    study_id: i64,
    service: Option<&str>,
    to: NaiveDate,
) -> Result<Tracker, AppError> {
    let rule = queries::rule_of(conn, study_id)?;
    let rows = queries::projects_of(conn, study_id)?;
    let stages = queries::stages_of_study(conn, study_id)?;
    let mut services: Vec<String> = rows.iter().map(|p| p.service.clone()).collect();
    services.sort_by_key(|s| s.to_lowercase());
    services.dedup();
    let today = today();
    let projects: Vec<ProjectView> = rows
        .iter()
        .filter(|p| service.is_none_or(|s| p.service == s))
        .map(|p| {
            let own: Vec<&StageRow> = stages.iter().filter(|s| s.project_id == p.id).collect();
            view(p, &own, &rule, today)
        })
        .collect();
    let facts: Vec<ProjectFacts> = projects
        .iter()
        .map(|p| ProjectFacts {
            service: p.service.clone(),
            started_on: p.started_on,
            closed_on: p.closed_on,
            records: stages_records(&p.stages),
        })
        .collect();
    let months = rules::series(&rule, &facts, to);
    Ok(Tracker {
        summary: rules::summary(&rule, months.last()),
        rule,
        service: service.map(str::to_string),
        projects,
        services,
        months,
    })
}

/// The register and its series, for one service or all, up to the month of `to` (this month when
/// none).
pub async fn tracker(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    service: Option<String>,
    to: Option<NaiveDate>,
) -> Result<(StudyAccess, Tracker), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let service = service.filter(|s| !s.trim().is_empty());
    let tracker = db
        .read(move |conn| load(conn, study_id, service.as_deref(), to.unwrap_or_else(today)))
        .await?;
    Ok((access, tracker))
}

pub async fn series(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    service: Option<String>,
    to: Option<NaiveDate>,
) -> Result<Series, AppError> {
    let (_, tracker) = tracker(db, user, study_id, service, to).await?;
    Ok(Series {
        service: tracker.service,
        target_percent: tracker.rule.target_percent,
        months: tracker.months,
        summary: tracker.summary,
    })
}

fn load_project(
    conn: &mut DbConnection,
    study_id: i64,
    project_id: i64,
) -> Result<ProjectView, AppError> {
    let row = queries::project(conn, study_id, project_id)?.ok_or(AppError::NotFound)?;
    let stages = queries::stages_of(conn, project_id)?;
    let rule = queries::rule_of(conn, study_id)?;
    Ok(view(
        &row,
        &stages.iter().collect::<Vec<_>>(),
        &rule,
        today(),
    ))
}

pub async fn project(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
    project_id: i64,
) -> Result<(StudyAccess, ProjectView), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let project = db
        .read(move |conn| load_project(conn, study_id, project_id))
        .await?;
    Ok((access, project))
}

pub async fn create(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    fields: ProjectFields,
) -> Result<ProjectView, AppError> {
    StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let project = rules::check_project(&fields, &[]).map_err(AppError::Invalid)?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        let id = queries::insert_project(conn, study_id, &project, user_id)?;
        audit::record(
            conn,
            &origin,
            "tracker.project_created",
            "improvement_project",
            Some(id),
            json!({ "study_id": study_id, "stage_reached": project.stage_reached.code() }),
        )?;
        load_project(conn, study_id, id)
    })
    .await
}

pub async fn update(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    project_id: i64,
    fields: ProjectFields,
) -> Result<ProjectView, AppError> {
    StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        queries::lock_study(conn, study_id)?;
        let before = load_project(conn, study_id, project_id)?;
        let recorded: Vec<(Stage, NaiveDate)> =
            before.stages.iter().map(|s| (s.stage, s.reached_on)).collect();
        let project = rules::check_project(&fields, &recorded).map_err(AppError::Invalid)?;
        queries::update_project(conn, project_id, &project)?;
        audit::record(
            conn,
            &origin,
            "tracker.project_changed",
            "improvement_project",
            Some(project_id),
            json!({ "study_id": study_id, "by": user_id, "stage_reached": project.stage_reached.code() }),
        )?;
        load_project(conn, study_id, project_id)
    })
    .await
}

/// Replaces the project's stage records with these (blank stages are not reached). Recording a stage
/// beyond the stage reached moves the project on to it.
pub async fn record_stages(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    project_id: i64,
    fields: Vec<StageFields>,
) -> Result<ProjectView, AppError> {
    StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        queries::lock_study(conn, study_id)?;
        let before = load_project(conn, study_id, project_id)?;
        let stages = rules::check_stages(before.started_on, before.closed_on, &fields)
            .map_err(AppError::Invalid)?;
        let changed = queries::replace_stages(conn, project_id, &stages, user_id)?;
        if let Some(last) = stages.last().filter(|s| s.stage > before.stage_reached) {
            queries::advance_stage(conn, project_id, last.stage)?;
        }
        if changed > 0 {
            audit::record(
                conn,
                &origin,
                "tracker.stages_recorded",
                "improvement_project",
                Some(project_id),
                json!({
                    "study_id": study_id,
                    "stages": stages.iter().map(|s| s.stage.code()).collect::<Vec<_>>(),
                }),
            )?;
        }
        load_project(conn, study_id, project_id)
    })
    .await
}

pub async fn rule(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
) -> Result<(StudyAccess, Rule), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let rule = db
        .read(move |conn| queries::rule_of(conn, study_id).map_err(AppError::from))
        .await?;
    Ok((access, rule))
}

pub async fn set_rule(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    fields: RuleFields,
) -> Result<Rule, AppError> {
    StudyAccess::with_role(db, user, study_id, CODERS).await?;
    let rule = rules::check_rule(&fields).map_err(AppError::Invalid)?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        queries::lock_study(conn, study_id)?;
        let before = queries::rule_of(conn, study_id)?;
        if before != rule {
            queries::save_rule(conn, study_id, &rule, user_id)?;
            audit::record(
                conn,
                &origin,
                "tracker.rule_changed",
                "study",
                Some(study_id),
                json!({ "before": before, "after": rule }),
            )?;
        }
        Ok(rule)
    })
    .await
}
