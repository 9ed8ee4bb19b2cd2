//! Storage for the involvement tracker: projects, their stage records and the study's rule. No HTTP
//! here.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::rules::{CheckedProject, CheckedStage, Level, Rule, Stage, StageRecord};
use crate::db::schema::{improvement_projects, project_stages, studies, tracker_rules};
use crate::db::{now, DbConnection};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = improvement_projects)]
pub struct ProjectRow {
    pub id: i64,
    pub study_id: i64,
    pub name: String,
    pub service: String,
    pub team: String,
    pub started_on: NaiveDate,
    pub closed_on: Option<NaiveDate>,
    pub stage_reached: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = project_stages)]
pub struct StageRow {
    pub project_id: i64,
    pub stage: String,
    pub reached_on: NaiveDate,
    pub involvement_level: String,
    pub suc_core_members: i32,
    pub decisions_influenced: String,
    pub feedback_given: String,
    pub recorded_at: NaiveDateTime,
}

impl StageRow {
    pub fn stage(&self) -> Stage {
        Stage::parse(&self.stage).unwrap_or(Stage::Idea)
    }

    pub fn level(&self) -> Level {
        Level::parse(&self.involvement_level).unwrap_or(Level::None)
    }

    pub fn record(&self) -> StageRecord {
        StageRecord {
            stage: self.stage(),
            reached_on: self.reached_on,
            level: self.level(),
            core_members: self.suc_core_members.max(0) as u32,
            decisions_influenced: self.decisions_influenced.clone(),
        }
    }
}

/// Holds the study's row until the transaction ends, so two people changing one study's tracker at
/// once on PostgreSQL take turns (SQLite's writes already do).
pub fn lock_study(conn: &mut DbConnection, study_id: i64) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        studies::table
            .find(study_id)
            .select(studies::id)
            .for_update()
            .first::<i64>(pg)
            .optional()?;
    }
    Ok(())
}

/// The study's projects, oldest first.
pub fn projects_of(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<ProjectRow>> {
    improvement_projects::table
        .filter(improvement_projects::study_id.eq(study_id))
        .order((improvement_projects::started_on, improvement_projects::id))
        .select(ProjectRow::as_select())
        .load(conn)
}

/// Every stage record of the study's projects.
pub fn stages_of_study(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<StageRow>> {
    project_stages::table
        .inner_join(improvement_projects::table)
        .filter(improvement_projects::study_id.eq(study_id))
        .order((project_stages::project_id, project_stages::reached_on))
        .select(StageRow::as_select())
        .load(conn)
}

pub fn project(
    conn: &mut DbConnection,
    study_id: i64,
    project_id: i64,
) -> QueryResult<Option<ProjectRow>> {
    improvement_projects::table
        .filter(improvement_projects::study_id.eq(study_id))
        .filter(improvement_projects::id.eq(project_id))
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()
}

pub fn stages_of(conn: &mut DbConnection, project_id: i64) -> QueryResult<Vec<StageRow>> {
    project_stages::table
        .filter(project_stages::project_id.eq(project_id))
        .order(project_stages::reached_on)
        .select(StageRow::as_select())
        .load(conn)
}

pub fn insert_project(
    conn: &mut DbConnection,
    study_id: i64,
    project: &CheckedProject,
    by: i64,
) -> QueryResult<i64> {
    let at = now();
    diesel::insert_into(improvement_projects::table)
        .values((
            improvement_projects::study_id.eq(study_id),
            improvement_projects::name.eq(&project.name),
            improvement_projects::service.eq(&project.service),
            improvement_projects::team.eq(&project.team),
            improvement_projects::started_on.eq(project.started_on),
            improvement_projects::closed_on.eq(project.closed_on),
            improvement_projects::stage_reached.eq(project.stage_reached.code()),
            improvement_projects::created_by.eq(Some(by)),
            improvement_projects::created_at.eq(at),
            improvement_projects::updated_at.eq(at),
        ))
        .returning(improvement_projects::id)
        .get_result(conn)
}

pub fn update_project(
    conn: &mut DbConnection,
    project_id: i64,
    project: &CheckedProject,
) -> QueryResult<()> {
    diesel::update(improvement_projects::table.find(project_id))
        .set((
            improvement_projects::name.eq(&project.name),
            improvement_projects::service.eq(&project.service),
            improvement_projects::team.eq(&project.team),
            improvement_projects::started_on.eq(project.started_on),
            improvement_projects::closed_on.eq(project.closed_on),
            improvement_projects::stage_reached.eq(project.stage_reached.code()),
            improvement_projects::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Moves the project's stage reached forward (never back) to `stage`.
pub fn advance_stage(conn: &mut DbConnection, project_id: i64, stage: Stage) -> QueryResult<()> {
    diesel::update(improvement_projects::table.find(project_id))
        .set((
            improvement_projects::stage_reached.eq(stage.code()),
            improvement_projects::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Makes the project's stage records these: changed ones updated, new ones added, the rest removed.
/// Returns how many rows changed.
pub fn replace_stages(
    conn: &mut DbConnection,
    project_id: i64,
    stages: &[CheckedStage],
    by: i64,
) -> QueryResult<usize> {
    let existing = stages_of(conn, project_id)?;
    let at = now();
    let mut changed = 0;
    let kept: Vec<&str> = stages.iter().map(|s| s.stage.code()).collect();
    changed += diesel::delete(
        project_stages::table
            .filter(project_stages::project_id.eq(project_id))
            .filter(project_stages::stage.ne_all(&kept)),
    )
    .execute(conn)?;
    for s in stages {
        let core = s.core_members as i32;
        match existing.iter().find(|e| e.stage() == s.stage) {
            Some(e)
                if e.reached_on == s.reached_on
                    && e.level() == s.level
                    && e.suc_core_members == core
                    && e.decisions_influenced == s.decisions_influenced
                    && e.feedback_given == s.feedback_given => {}
            Some(_) => {
                changed += diesel::update(
                    project_stages::table
                        .filter(project_stages::project_id.eq(project_id))
                        .filter(project_stages::stage.eq(s.stage.code())),
                )
                .set((
                    project_stages::reached_on.eq(s.reached_on),
                    project_stages::involvement_level.eq(s.level.code()),
                    project_stages::suc_core_members.eq(core),
                    project_stages::decisions_influenced.eq(&s.decisions_influenced),
                    project_stages::feedback_given.eq(&s.feedback_given),
                    project_stages::recorded_by.eq(Some(by)),
                    project_stages::recorded_at.eq(at),
                ))
                .execute(conn)?;
            }
            None => {
                changed += diesel::insert_into(project_stages::table)
                    .values((
                        project_stages::project_id.eq(project_id),
                        project_stages::stage.eq(s.stage.code()),
                        project_stages::reached_on.eq(s.reached_on),
                        project_stages::involvement_level.eq(s.level.code()),
                        project_stages::suc_core_members.eq(core),
                        project_stages::decisions_influenced.eq(&s.decisions_influenced),
                        project_stages::feedback_given.eq(&s.feedback_given),
                        project_stages::recorded_by.eq(Some(by)),
                        project_stages::recorded_at.eq(at),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(changed)
}

/// The study's rule; the defaults when it was never changed.
pub fn rule_of(conn: &mut DbConnection, study_id: i64) -> QueryResult<Rule> {
    let row: Option<(String, i32, i32, String, i32)> = tracker_rules::table
        .find(study_id)
        .select((
            tracker_rules::meaningful_from,
            tracker_rules::min_core_members,
            tracker_rules::min_influences,
            tracker_rules::min_level,
            tracker_rules::target_percent,
        ))
        .first(conn)
        .optional()?;
    Ok(
        row.map_or_else(Rule::default, |(from, core, influences, level, target)| {
            Rule {
                meaningful_from: Stage::parse(&from).unwrap_or(Stage::Aims),
                min_core_members: core.max(0) as u32,
                min_influences: influences.max(0) as u32,
                min_level: Level::parse(&level),
                target_percent: target.clamp(0, 100) as u32,
            }
        }),
    )
}

/// Saves the study's rule (the caller holds the study's lock).
pub fn save_rule(conn: &mut DbConnection, study_id: i64, rule: &Rule, by: i64) -> QueryResult<()> {
    let values = (
        tracker_rules::meaningful_from.eq(rule.meaningful_from.code()),
        tracker_rules::min_core_members.eq(rule.min_core_members as i32),
        tracker_rules::min_influences.eq(rule.min_influences as i32),
        tracker_rules::min_level.eq(rule.min_level.map(Level::code).unwrap_or_default()),
        tracker_rules::target_percent.eq(rule.target_percent as i32),
        tracker_rules::updated_by.eq(Some(by)),
        tracker_rules::updated_at.eq(now()),
    );
    let updated = diesel::update(tracker_rules::table.find(study_id))
        .set(values)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(tracker_rules::table)
            .values((tracker_rules::study_id.eq(study_id), values))
            .execute(conn)?;
    }
    Ok(())
}
