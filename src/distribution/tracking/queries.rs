//! Storage reads for tracking: a campaign's recipients with their email and progress, and the events of
//! one participant. No HTTP here.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{Delivery, RecipientStatus};
use crate::db::schema::{
    campaign_recipients, link_tokens, outbox_messages, participants, participations, questionnaires,
};
use crate::db::DbConnection;
use crate::distribution::participants::rules::{Milestones, Progress};

type Row = (
    i64,
    String,
    String,
    String,
    String,
    Option<NaiveDateTime>,
    i32,
    i64,
    (
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
    ),
);

/// Every recipient of a campaign with where their invitation is and how far they got: two queries.
pub fn recipients(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<Vec<RecipientStatus>> {
    let rows: Vec<Row> = campaign_recipients::table
        .inner_join(participants::table)
        .inner_join(participations::table)
        .filter(campaign_recipients::campaign_id.eq(campaign_id))
        .order(participants::code.asc())
        .select((
            participants::id,
            participants::code,
            participants::participant_group,
            participants::service_area,
            participants::system_level,
            participants::opted_out_at,
            campaign_recipients::reminders_queued,
            participations::id,
            (
                participations::opened_at,
                participations::consented_at,
                participations::declined_at,
                participations::started_at,
                participations::completed_at,
                participations::withdrawn_at,
            ),
        ))
        .load(conn)?;
    let invitations: HashMap<i64, String> = outbox_messages::table
        .filter(outbox_messages::campaign_id.eq(campaign_id))
        .filter(outbox_messages::kind.eq("invitation"))
        .select((outbox_messages::participation_id, outbox_messages::status))
        .load::<(Option<i64>, String)>(conn)?
        .into_iter()
        .filter_map(|(participation, status)| participation.map(|p| (p, status)))
        .collect();
    Ok(rows
        .into_iter()
        .map(
            |(id, code, group, service, level, opted_out, reminders, participation, m)| {
                let delivery =
                    Delivery::from_status(invitations.get(&participation).map(String::as_str));
                let milestones = Milestones {
                    invited: true,
                    opened: m.0.is_some(),
                    consented: m.1.is_some(),
                    declined: m.2.is_some(),
                    started: m.3.is_some(),
                    completed: m.4.is_some(),
                    withdrawn: m.5.is_some(),
                    opted_out: opted_out.is_some(),
                };
                RecipientStatus {
                    participant_id: id,
                    code,
                    group,
                    service_area: service,
                    system_level: level,
                    delivery,
                    progress: Progress::from_milestones(&milestones),
                    furthest: Progress::furthest(&milestones),
                    reminders_sent: reminders,
                }
            },
        )
        .collect())
}

/// One thing that happened to a participant, for their timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEvent {
    #[serde(with = "crate::db::utc")]
    pub at: NaiveDateTime,
    pub questionnaire: Option<String>,
    pub what: String,
}

/// A participant's history across the study's questionnaires: emails, links and milestones.
pub fn timeline(
    conn: &mut DbConnection,
    participant_id: i64,
    opted_out_at: Option<NaiveDateTime>,
) -> QueryResult<Vec<TimelineEvent>> {
    type Milestone = (
        i64,
        String,
        NaiveDateTime,
        (
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        ),
    );
    let participation_rows: Vec<Milestone> = participations::table
        .inner_join(questionnaires::table)
        .filter(participations::participant_id.eq(participant_id))
        .select((
            participations::id,
            questionnaires::title,
            participations::created_at,
            (
                participations::opened_at,
                participations::consented_at,
                participations::declined_at,
                participations::started_at,
                participations::completed_at,
                participations::withdrawn_at,
            ),
        ))
        .load(conn)?;
    let titles: HashMap<i64, String> = participation_rows
        .iter()
        .map(|(id, title, ..)| (*id, title.clone()))
        .collect();
    let ids: Vec<i64> = titles.keys().copied().collect();
    let mut events = Vec::new();
    for (_, title, created, m) in &participation_rows {
        let q = Some(title.clone());
        events.push(event(*created, &q, "Added to this questionnaire"));
        for (at, what) in [
            (m.0, "Opened their link"),
            (m.1, "Consented"),
            (m.2, "Declined to take part"),
            (m.3, "Started answering"),
            (m.4, "Completed"),
            (m.5, "Withdrew"),
        ] {
            if let Some(at) = at {
                events.push(event(at, &q, what));
            }
        }
    }
    type Email = (
        Option<i64>,
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<String>,
        i32,
    );
    let emails: Vec<Email> = outbox_messages::table
        .filter(outbox_messages::participation_id.eq_any(ids.iter().map(|id| Some(*id))))
        .select((
            outbox_messages::participation_id,
            outbox_messages::kind,
            outbox_messages::status,
            outbox_messages::created_at,
            outbox_messages::sent_at,
            outbox_messages::last_error,
            outbox_messages::attempts,
        ))
        .load(conn)?;
    for (participation, kind, status, created, sent, error, attempts) in emails {
        let q = participation.and_then(|p| titles.get(&p).cloned());
        let name = match kind.as_str() {
            "invitation" => "Invitation email",
            "reminder" => "Reminder email",
            _ => "New link email",
        };
        events.push(event(created, &q, &format!("{name} queued")));
        match (status.as_str(), sent) {
            ("sent", Some(at)) => events.push(event(at, &q, &format!("{name} sent"))),
            ("failed", _) => events.push(event(
                created,
                &q,
                &format!(
                    "{name} failed after {attempts} attempt(s): {}",
                    error.unwrap_or_default()
                ),
            )),
            ("cancelled", _) => events.push(event(
                created,
                &q,
                &format!("{name} not sent: {}", error.unwrap_or_default()),
            )),
            _ => {}
        }
    }
    let tokens: Vec<(i64, String, NaiveDateTime, Option<NaiveDateTime>)> = link_tokens::table
        .filter(link_tokens::participation_id.eq_any(&ids))
        .filter(link_tokens::purpose.eq("respond"))
        .select((
            link_tokens::participation_id,
            link_tokens::purpose,
            link_tokens::created_at,
            link_tokens::revoked_at,
        ))
        .load(conn)?;
    let mut revocations: Vec<(i64, NaiveDateTime)> = tokens
        .iter()
        .filter_map(|(p, _, _, revoked)| revoked.map(|at| (*p, at)))
        .collect();
    revocations.sort();
    revocations.dedup();
    for (participation, at) in revocations {
        let q = titles.get(&participation).cloned();
        events.push(event(
            at,
            &q,
            "Links reissued: earlier links stopped working",
        ));
    }
    if let Some(at) = opted_out_at {
        events.push(event(at, &None, "Opted out of emails about this study"));
    }
    events.sort_by_key(|e| e.at);
    Ok(events)
}

fn event(at: NaiveDateTime, questionnaire: &Option<String>, what: &str) -> TimelineEvent {
    TimelineEvent {
        at,
        questionnaire: questionnaire.clone(),
        what: what.to_string(),
    }
}

/// A participant of a study, with their code and opt-out time.
pub fn participant(
    conn: &mut DbConnection,
    study_id: i64,
    participant_id: i64,
) -> QueryResult<Option<(String, Option<NaiveDateTime>)>> {
    participants::table
        .filter(participants::study_id.eq(study_id))
        .find(participant_id)
        .select((participants::code, participants::opted_out_at))
        .first(conn)
        .optional()
}

/// The questionnaires a participant takes part in (id, title), for reissuing links.
pub fn participations_of(
    conn: &mut DbConnection,
    participant_id: i64,
) -> QueryResult<Vec<(i64, String)>> {
    participations::table
        .inner_join(questionnaires::table)
        .filter(participations::participant_id.eq(participant_id))
        .select((questionnaires::id, questionnaires::title))
        .load(conn)
}
