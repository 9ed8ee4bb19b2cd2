//! The overview's work, shared by pages and the API: a study's task list, and what waits for a person.

use serde::Serialize;
use utoipa::ToSchema;

use super::queries;
use super::rules::{self, study_tasks, InstallFacts, Waiting, WaitingKind};
use crate::analysis::report::queries::quote_consent;
use crate::config::Settings;
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::queries::{studies_of, Member};
use crate::studies::rules::{co_design_balance, CoDesignBalance};
use crate::web::organisation::Organisation;
use crate::web::task_list::Task;

/// What waits for one person in one study.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StudyWaiting {
    pub study_id: i64,
    pub study_title: String,
    pub items: Vec<Waiting>,
}

/// A study's task list as one member sees it, with the group's balance it was worked out from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaskList {
    pub tasks: Vec<Task>,
    /// What waits for this member in this study.
    pub waiting: Vec<Waiting>,
    pub balance: CoDesignBalance,
}

/// The task list, the members it counts and what waits for this member, in one read.
pub async fn task_list(db: &Db, access: &StudyAccess) -> Result<(TaskList, Vec<Member>), AppError> {
    let study = access.study.clone();
    let me = access.me.clone();
    db.read(move |conn| {
        let members = crate::studies::queries::members(conn, study.id)?;
        let balance = co_design_balance(members.iter().map(|m| (&m.roles, m.perspective)));
        let interviewer = (!me.roles.lead).then_some(me.user_id);
        let facts = queries::study_facts(conn, study.id, interviewer)?;
        let tasks = study_tasks(
            study.id,
            &me.roles,
            study.co_designers_read_analysis,
            &balance,
            &facts,
        );
        let mut waiting = queries::waiting_for(conn, me.user_id, Some(study.id))?;
        if me.roles.lead {
            waiting.extend(quotes_waiting(conn, study.id)?);
        }
        waiting.sort_by_key(|w| w.kind);
        Ok::<_, AppError>((
            TaskList {
                tasks,
                waiting,
                balance,
            },
            members,
        ))
    })
    .await
}

/// Everything waiting for this person, study by study (studies with nothing waiting left out).
pub async fn waiting(db: &Db, user_id: i64) -> Result<Vec<StudyWaiting>, AppError> {
    db.read(move |conn| {
        let studies = studies_of(conn, user_id)?;
        let mut items = queries::waiting_for(conn, user_id, None)?;
        for (study, roles) in &studies {
            if roles.lead {
                items.extend(quotes_waiting(conn, study.id)?);
            }
        }
        Ok::<_, AppError>(
            studies
                .into_iter()
                .filter_map(|(study, _)| {
                    let mut mine: Vec<Waiting> = items
                        .iter()
                        .filter(|w| w.study_id == study.id)
                        .cloned()
                        .collect();
                    mine.sort_by_key(|w| w.kind);
                    (!mine.is_empty()).then_some(StudyWaiting {
                        study_id: study.id,
                        study_title: study.title,
                        items: mine,
                    })
                })
                .collect(),
        )
    })
    .await
}

/// Passages coded from people who agreed to be quoted and not approved yet: the report's rule.
fn quotes_waiting(conn: &mut DbConnection, study_id: i64) -> Result<Option<Waiting>, AppError> {
    let agreed = quote_consent(conn, study_id)?;
    let count: i64 = queries::unapproved_passages(conn, study_id)?
        .into_iter()
        .filter(|(response, _)| agreed.get(response).copied().unwrap_or(false))
        .map(|(_, passages)| passages)
        .sum();
    Ok((count > 0).then(|| rules::waiting(study_id, WaitingKind::Quotes, study_id, count)))
}

/// The setup checklist, from the organisation as this page shows it and the install's counts.
pub async fn setup_tasks(
    db: &Db,
    settings: &Settings,
    organisation: &Organisation,
) -> Result<Vec<Task>, AppError> {
    let (accounts, studies) = db
        .read(|conn| queries::install_counts(conn).map_err(AppError::from))
        .await?;
    Ok(rules::setup_tasks(&InstallFacts {
        organisation_named: !organisation.name.is_empty(),
        organisation_described: organisation.is_described(),
        mail_checked: organisation.mail_checked_at.is_some(),
        no_mail_server: crate::mail::writes_files(settings),
        accounts,
        studies,
    }))
}
