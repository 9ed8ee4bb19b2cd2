//! Storage for campaigns, their recipients and the roster as a campaign sees it. No HTTP here.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::RecipientFilter;
use crate::db::schema::{
    campaign_recipients, campaigns, outbox_messages, participant_identities, participants,
    participations, questionnaire_versions, questionnaires,
};
use crate::db::{now, on_backend, DbConnection};
use crate::distribution::participants::rules::{Milestones, Progress};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = campaigns)]
pub struct Campaign {
    pub id: i64,
    pub study_id: i64,
    pub questionnaire_id: i64,
    /// The published questionnaire version everyone in this campaign answers.
    pub version_id: i64,
    pub name: String,
    /// draft, active or closed.
    pub status: String,
    /// JSON of the recipient filter.
    #[serde(skip)]
    pub recipient_filter: String,
    pub invitation_subject: String,
    pub invitation_body: String,
    pub reminder_subject: String,
    pub reminder_body: String,
    /// JSON array of days after the invitation.
    #[serde(skip)]
    pub reminder_days: String,
    pub contact: String,
    #[serde(with = "crate::db::utc")]
    pub closes_at: NaiveDateTime,
    pub lock_version: i32,
    pub created_by: i64,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
    #[serde(with = "crate::db::utc::option")]
    pub launched_at: Option<NaiveDateTime>,
    #[serde(with = "crate::db::utc::option")]
    pub closed_at: Option<NaiveDateTime>,
}

impl Campaign {
    pub fn filter(&self) -> RecipientFilter {
        serde_json::from_str(&self.recipient_filter).unwrap_or_default()
    }

    pub fn days(&self) -> Vec<i32> {
        serde_json::from_str(&self.reminder_days).unwrap_or_default()
    }
}

/// What a campaign is made of, as a lead or co-designer edits it.
#[derive(Debug, Clone)]
pub struct CampaignContent {
    pub name: String,
    pub version_id: i64,
    pub questionnaire_id: i64,
    pub filter: RecipientFilter,
    pub invitation_subject: String,
    pub invitation_body: String,
    pub reminder_subject: String,
    pub reminder_body: String,
    pub reminder_days: Vec<i32>,
    pub contact: String,
    pub closes_at: NaiveDateTime,
}

/// The columns a campaign's content is stored in: the same for a new campaign and a change.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = campaigns)]
struct ContentColumns<'a> {
    name: &'a str,
    questionnaire_id: i64,
    version_id: i64,
    recipient_filter: String,
    invitation_subject: &'a str,
    invitation_body: &'a str,
    reminder_subject: &'a str,
    reminder_body: &'a str,
    reminder_days: String,
    contact: &'a str,
    closes_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl CampaignContent {
    fn columns(&self) -> ContentColumns<'_> {
        ContentColumns {
            name: &self.name,
            questionnaire_id: self.questionnaire_id,
            version_id: self.version_id,
            recipient_filter: to_json(&self.filter),
            invitation_subject: &self.invitation_subject,
            invitation_body: &self.invitation_body,
            reminder_subject: &self.reminder_subject,
            reminder_body: &self.reminder_body,
            reminder_days: to_json(&self.reminder_days),
            contact: &self.contact,
            closes_at: self.closes_at,
            updated_at: now(),
        }
    }
}

pub fn insert(
    conn: &mut DbConnection,
    study_id: i64,
    content: &CampaignContent,
    user_id: i64,
) -> QueryResult<i64> {
    diesel::insert_into(campaigns::table)
        .values((
            content.columns(),
            campaigns::study_id.eq(study_id),
            campaigns::created_by.eq(user_id),
            campaigns::created_at.eq(now()),
        ))
        .returning(campaigns::id)
        .get_result(conn)
}

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

/// Saves over the version the editor started from; false if someone else saved in between.
pub fn update(
    conn: &mut DbConnection,
    campaign: &Campaign,
    content: &CampaignContent,
    lock_version: i32,
) -> QueryResult<bool> {
    let changed = diesel::update(
        campaigns::table
            .find(campaign.id)
            .filter(campaigns::lock_version.eq(lock_version)),
    )
    .set((
        content.columns(),
        campaigns::lock_version.eq(lock_version + 1),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn find(conn: &mut DbConnection, study_id: i64, id: i64) -> QueryResult<Option<Campaign>> {
    campaigns::table
        .filter(campaigns::study_id.eq(study_id))
        .find(id)
        .select(Campaign::as_select())
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<Campaign>> {
    campaigns::table
        .filter(campaigns::study_id.eq(study_id))
        .order(campaigns::id.desc())
        .select(Campaign::as_select())
        .load(conn)
}

pub fn active(conn: &mut DbConnection) -> QueryResult<Vec<Campaign>> {
    campaigns::table
        .filter(campaigns::status.eq("active"))
        .select(Campaign::as_select())
        .load(conn)
}

/// Marks a draft or active campaign active; false if it is closed.
pub fn activate(conn: &mut DbConnection, id: i64) -> QueryResult<bool> {
    let at = now();
    let changed = diesel::update(
        campaigns::table
            .find(id)
            .filter(campaigns::status.ne("closed")),
    )
    .set((campaigns::status.eq("active"), campaigns::updated_at.eq(at)))
    .execute(conn)?;
    diesel::update(
        campaigns::table
            .find(id)
            .filter(campaigns::launched_at.is_null()),
    )
    .set(campaigns::launched_at.eq(at))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Closes a campaign; false if it was already closed. The links it sent stop working now, not at the
/// closing date it had.
/// Closes a campaign: no more emails, and its links stop working now, except that people who have
/// started answering and not sent their answers keep theirs until `finish_by` (never later than
/// they had). Returns whether it was open.
pub fn close(conn: &mut DbConnection, id: i64, finish_by: NaiveDateTime) -> QueryResult<bool> {
    let at = now();
    let changed = diesel::update(
        campaigns::table
            .find(id)
            .filter(campaigns::status.ne("closed")),
    )
    .set((
        campaigns::status.eq("closed"),
        campaigns::closed_at.eq(at),
        campaigns::updated_at.eq(at),
    ))
    .execute(conn)?;
    let still_open = participations::table
        .filter(participations::campaign_id.eq(id))
        .filter(participations::closes_at.gt(at));
    diesel::update(
        still_open
            .filter(participations::closes_at.gt(finish_by))
            .filter(mid_way()),
    )
    .set(participations::closes_at.eq(finish_by))
    .execute(conn)?;
    diesel::update(still_open.filter(diesel::dsl::not(mid_way())))
        .set(participations::closes_at.eq(at))
        .execute(conn)?;
    Ok(changed == 1)
}

/// Started answering, and neither sent the answers nor withdrew.
fn mid_way() -> diesel::dsl::And<
    diesel::dsl::And<
        diesel::dsl::IsNotNull<participations::started_at>,
        diesel::dsl::IsNull<participations::completed_at>,
    >,
    diesel::dsl::IsNull<participations::withdrawn_at>,
> {
    participations::started_at
        .is_not_null()
        .and(participations::completed_at.is_null())
        .and(participations::withdrawn_at.is_null())
}

/// Who closing the campaign now would touch: people who have started answering and not sent their
/// answers (they may finish), and links still open that nobody has started with (they stop).
pub fn closing_counts(conn: &mut DbConnection, id: i64) -> QueryResult<(i64, i64)> {
    let open = || {
        participations::table
            .filter(participations::campaign_id.eq(id))
            .filter(participations::closes_at.gt(now()))
    };
    let mid_way_count = open().filter(mid_way()).count().get_result(conn)?;
    let not_started = open()
        .filter(diesel::dsl::not(mid_way()))
        .count()
        .get_result(conn)?;
    Ok((mid_way_count, not_started))
}

/// A published version a campaign can send, with its questionnaire's title.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct SendableVersion {
    pub version_id: i64,
    pub questionnaire_id: i64,
    pub questionnaire_title: String,
    pub version_number: i32,
    #[serde(with = "crate::db::utc")]
    pub published_at: NaiveDateTime,
}

pub fn sendable_versions(
    conn: &mut DbConnection,
    study_id: i64,
) -> QueryResult<Vec<SendableVersion>> {
    questionnaire_versions::table
        .inner_join(questionnaires::table)
        .filter(questionnaires::study_id.eq(study_id))
        .order((
            questionnaires::title.asc(),
            questionnaire_versions::version_number.desc(),
        ))
        .select((
            questionnaire_versions::id,
            questionnaire_versions::questionnaire_id,
            questionnaires::title,
            questionnaire_versions::version_number,
            questionnaire_versions::published_at,
        ))
        .load(conn)
}

/// One roster entry with where they are in one questionnaire: what filters, launching and tracking use.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RosterEntry {
    pub participant_id: i64,
    pub code: String,
    pub group: String,
    pub service_area: String,
    pub system_level: String,
    pub tags: Vec<String>,
    pub has_email: bool,
    pub opted_out: bool,
    pub participation_id: Option<i64>,
    pub participation_started: bool,
    #[serde(skip)]
    pub milestones: Milestones,
}

impl RosterEntry {
    pub fn progress(&self) -> Progress {
        Progress::from_milestones(&self.milestones)
    }
}

type RosterRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<NaiveDateTime>,
    Option<String>,
    ParticipationMilestones,
);

type ParticipationMilestones = (
    Option<i64>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
);

/// The whole roster of a study against one questionnaire, in one query. `invited` is not known here
/// (it depends on emails sent); callers set it.
pub fn roster(
    conn: &mut DbConnection,
    study_id: i64,
    questionnaire_id: i64,
) -> QueryResult<Vec<RosterEntry>> {
    let rows: Vec<RosterRow> = participants::table
        .left_join(participant_identities::table)
        .left_join(
            participations::table.on(participations::participant_id
                .eq(participants::id)
                .and(participations::questionnaire_id.eq(questionnaire_id))),
        )
        .filter(participants::study_id.eq(study_id))
        .order(participants::id.asc())
        .select((
            participants::id,
            participants::code,
            participants::participant_group,
            participants::service_area,
            participants::system_level,
            participants::tags,
            participants::opted_out_at,
            participant_identities::email.nullable(),
            (
                participations::id.nullable(),
                participations::opened_at.nullable(),
                participations::consented_at.nullable(),
                participations::declined_at.nullable(),
                participations::started_at.nullable(),
                participations::completed_at.nullable(),
                participations::withdrawn_at.nullable(),
            ),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(id, code, group, service, level, tags, opted_out, email, p)| {
                let set = |t: Option<NaiveDateTime>| t.is_some();
                RosterEntry {
                    participant_id: id,
                    code,
                    group,
                    service_area: service,
                    system_level: level,
                    tags: serde_json::from_str(&tags).unwrap_or_default(),
                    has_email: email.is_some(),
                    opted_out: opted_out.is_some(),
                    participation_id: p.0,
                    participation_started: set(p.4),
                    milestones: Milestones {
                        invited: p.0.is_some(),
                        opened: set(p.1),
                        consented: set(p.2),
                        declined: set(p.3),
                        started: set(p.4),
                        completed: set(p.5),
                        withdrawn: set(p.6),
                        opted_out: opted_out.is_some(),
                    },
                }
            },
        )
        .collect())
}

/// The participants already in a campaign.
pub fn recipient_ids(conn: &mut DbConnection, campaign_id: i64) -> QueryResult<Vec<i64>> {
    campaign_recipients::table
        .filter(campaign_recipients::campaign_id.eq(campaign_id))
        .select(campaign_recipients::participant_id)
        .load(conn)
}

/// Rows per many-row INSERT: well under SQLite's 32,766 bound parameters.
const CHUNK: usize = 1000;

/// Enrols the chosen people in the campaign, a fixed number of statements per thousand: each gets a
/// participation in its questionnaire (or has theirs pointed at this campaign; someone who has started
/// keeps the version they started) and a recipient row. Returns (participant id, participation id).
pub fn enrol(
    conn: &mut DbConnection,
    campaign: &Campaign,
    chosen: &[&RosterEntry],
) -> QueryResult<Vec<(i64, i64)>> {
    let at = now();
    let mut enrolled: Vec<(i64, i64)> = chosen
        .iter()
        .filter_map(|e| e.participation_id.map(|p| (e.participant_id, p)))
        .collect();
    let existing: Vec<i64> = enrolled.iter().map(|(_, p)| *p).collect();
    let not_started: Vec<i64> = chosen
        .iter()
        .filter(|e| !e.participation_started)
        .filter_map(|e| e.participation_id)
        .collect();
    for ids in existing.chunks(CHUNK) {
        diesel::update(participations::table.filter(participations::id.eq_any(ids)))
            .set((
                participations::campaign_id.eq(campaign.id),
                participations::closes_at.eq(campaign.closes_at),
            ))
            .execute(conn)?;
    }
    for ids in not_started.chunks(CHUNK) {
        diesel::update(participations::table.filter(participations::id.eq_any(ids)))
            .set(participations::version_id.eq(campaign.version_id))
            .execute(conn)?;
    }
    let newcomers: Vec<i64> = chosen
        .iter()
        .filter(|e| e.participation_id.is_none())
        .map(|e| e.participant_id)
        .collect();
    for chunk in newcomers.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|participant| {
                (
                    participations::participant_id.eq(*participant),
                    participations::questionnaire_id.eq(campaign.questionnaire_id),
                    participations::version_id.eq(campaign.version_id),
                    participations::campaign_id.eq(campaign.id),
                    participations::closes_at.eq(campaign.closes_at),
                    participations::created_at.eq(at),
                )
            })
            .collect();
        enrolled.extend(on_backend!(conn, |c| diesel::insert_into(
            participations::table
        )
        .values(&rows)
        .returning((participations::participant_id, participations::id))
        .get_results::<(i64, i64)>(c))?);
    }
    for chunk in enrolled.chunks(CHUNK) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(participant, participation)| {
                (
                    campaign_recipients::campaign_id.eq(campaign.id),
                    campaign_recipients::participant_id.eq(*participant),
                    campaign_recipients::participation_id.eq(*participation),
                    campaign_recipients::invited_at.eq(at),
                )
            })
            .collect();
        on_backend!(conn, |c| diesel::insert_into(campaign_recipients::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(enrolled)
}

/// A recipient who may be due a reminder.
#[derive(Debug, Clone, Queryable)]
pub struct ReminderCandidate {
    pub recipient_id: i64,
    pub participant_id: i64,
    pub participation_id: i64,
    pub invited_at: NaiveDateTime,
    pub reminders_queued: i32,
}

/// Recipients of a campaign who have not finished, not opted out, and have had fewer reminders than the
/// schedule holds.
pub fn reminder_candidates(
    conn: &mut DbConnection,
    campaign_id: i64,
    schedule_length: i32,
) -> QueryResult<Vec<ReminderCandidate>> {
    campaign_recipients::table
        .inner_join(participants::table)
        .inner_join(participations::table)
        .filter(campaign_recipients::campaign_id.eq(campaign_id))
        .filter(campaign_recipients::reminders_queued.lt(schedule_length))
        .filter(participants::opted_out_at.is_null())
        .filter(participations::completed_at.is_null())
        .filter(participations::declined_at.is_null())
        .filter(participations::withdrawn_at.is_null())
        .select((
            campaign_recipients::id,
            campaign_recipients::participant_id,
            campaign_recipients::participation_id,
            campaign_recipients::invited_at,
            campaign_recipients::reminders_queued,
        ))
        .load(conn)
}

/// Counts one more reminder for a recipient, only if nobody (another instance) has already: the
/// conditional update is what makes reminders exactly-once across instances.
pub fn claim_reminder(
    conn: &mut DbConnection,
    recipient_id: i64,
    already_queued: i32,
) -> QueryResult<bool> {
    let changed = diesel::update(
        campaign_recipients::table
            .find(recipient_id)
            .filter(campaign_recipients::reminders_queued.eq(already_queued)),
    )
    .set(campaign_recipients::reminders_queued.eq(already_queued + 1))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Campaigns whose closing time has passed but that are still marked active, with their studies:
/// (campaign id, study id).
pub fn overdue(conn: &mut DbConnection, at: NaiveDateTime) -> QueryResult<Vec<(i64, i64)>> {
    campaigns::table
        .filter(campaigns::status.eq("active"))
        .filter(campaigns::closes_at.le(at))
        .select((campaigns::id, campaigns::study_id))
        .load(conn)
}

/// Emails of a campaign not yet sent will not be: closing a campaign stops its mail.
pub fn cancel_unsent(
    conn: &mut DbConnection,
    campaign_id: i64,
    reason: &str,
) -> QueryResult<usize> {
    diesel::update(
        outbox_messages::table
            .filter(outbox_messages::campaign_id.eq(campaign_id))
            .filter(outbox_messages::status.eq("queued")),
    )
    .set((
        outbox_messages::status.eq("cancelled"),
        outbox_messages::last_error.eq(reason),
    ))
    .execute(conn)
}
