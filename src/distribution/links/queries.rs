//! Storage for participant links (only their hashes), open links and opting out. No HTTP here.

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    link_tokens, open_links, outbox_messages, participant_identities, participants, participations,
    questionnaires, studies,
};
use crate::db::{now, DbConnection};
use crate::distribution::participants::rules::participant_code;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Respond,
    OptOut,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Respond => "respond",
            Purpose::OptOut => "opt_out",
        }
    }
}

/// Stores the hashes of tokens just made for emails, skipping any already stored (a retried send makes
/// the same tokens again). One query to look, one insert per new token.
pub fn record_tokens(
    conn: &mut DbConnection,
    tokens: &[(i64, Purpose, String)],
) -> QueryResult<()> {
    let hashes: Vec<&str> = tokens.iter().map(|(_, _, hash)| hash.as_str()).collect();
    let mut known: HashSet<String> = HashSet::new();
    for chunk in hashes.chunks(500) {
        known.extend(
            link_tokens::table
                .filter(link_tokens::token_hash.eq_any(chunk))
                .select(link_tokens::token_hash)
                .load::<String>(conn)?,
        );
    }
    let at = now();
    for (participation_id, purpose, hash) in tokens {
        if known.insert(hash.clone()) {
            diesel::insert_into(link_tokens::table)
                .values((
                    link_tokens::participation_id.eq(participation_id),
                    link_tokens::purpose.eq(purpose.as_str()),
                    link_tokens::token_hash.eq(hash),
                    link_tokens::created_at.eq(at),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

pub fn insert_token(
    conn: &mut DbConnection,
    participation_id: i64,
    purpose: Purpose,
    hash: &str,
) -> QueryResult<()> {
    record_tokens(conn, &[(participation_id, purpose, hash.to_string())])
}

/// What a link leads to: the participation, its participant and study, and the link's own state.
#[derive(Debug, Clone, Queryable, Selectable)]
pub struct LinkTarget {
    #[diesel(select_expression = link_tokens::id)]
    pub token_id: i64,
    #[diesel(select_expression = link_tokens::revoked_at)]
    pub revoked_at: Option<NaiveDateTime>,
    #[diesel(select_expression = participations::id)]
    pub participation_id: i64,
    #[diesel(select_expression = participations::questionnaire_id)]
    pub questionnaire_id: i64,
    #[diesel(select_expression = participations::version_id)]
    pub version_id: i64,
    #[diesel(select_expression = participations::closes_at)]
    pub closes_at: Option<NaiveDateTime>,
    #[diesel(select_expression = participations::opened_at)]
    pub opened_at: Option<NaiveDateTime>,
    #[diesel(select_expression = participations::completed_at)]
    pub completed_at: Option<NaiveDateTime>,
    #[diesel(select_expression = participations::withdrawn_at)]
    pub withdrawn_at: Option<NaiveDateTime>,
    #[diesel(select_expression = participants::id)]
    pub participant_id: i64,
    #[diesel(select_expression = participants::code)]
    pub participant_code: String,
    #[diesel(select_expression = participants::opted_out_at)]
    pub opted_out_at: Option<NaiveDateTime>,
    #[diesel(select_expression = studies::id)]
    pub study_id: i64,
    #[diesel(select_expression = studies::title)]
    pub study_title: String,
}

pub fn find_by_hash(
    conn: &mut DbConnection,
    hash: &str,
    purpose: Purpose,
) -> QueryResult<Option<LinkTarget>> {
    link_tokens::table
        .inner_join(
            participations::table.inner_join(participants::table.inner_join(studies::table)),
        )
        .filter(link_tokens::token_hash.eq(hash))
        .filter(link_tokens::purpose.eq(purpose.as_str()))
        .select(LinkTarget::as_select())
        .first(conn)
        .optional()
}

/// Records the first time a participant opened their link.
pub fn mark_opened(conn: &mut DbConnection, participation_id: i64) -> QueryResult<()> {
    diesel::update(
        participations::table
            .find(participation_id)
            .filter(participations::opened_at.is_null()),
    )
    .set(participations::opened_at.eq(now()))
    .execute(conn)
    .map(|_| ())
}

/// Stops every respond link of a participation from working.
pub fn revoke_respond_tokens(conn: &mut DbConnection, participation_id: i64) -> QueryResult<usize> {
    diesel::update(
        link_tokens::table
            .filter(link_tokens::participation_id.eq(participation_id))
            .filter(link_tokens::purpose.eq(Purpose::Respond.as_str()))
            .filter(link_tokens::revoked_at.is_null()),
    )
    .set(link_tokens::revoked_at.eq(now()))
    .execute(conn)
}

/// Opts a participant out of the study's emails and cancels those still waiting; false if they had
/// already opted out.
pub fn opt_out(conn: &mut DbConnection, participant_id: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        participants::table
            .find(participant_id)
            .filter(participants::opted_out_at.is_null()),
    )
    .set(participants::opted_out_at.eq(now()))
    .execute(conn)?;
    let theirs: Vec<i64> = participations::table
        .filter(participations::participant_id.eq(participant_id))
        .select(participations::id)
        .load(conn)?;
    cancel_emails(conn, &theirs, "opted out")?;
    Ok(changed == 1)
}

/// Cancels the emails still waiting to go to these participations, saying why.
fn cancel_emails(conn: &mut DbConnection, participation_ids: &[i64], why: &str) -> QueryResult<()> {
    diesel::update(
        outbox_messages::table
            .filter(outbox_messages::participation_id.eq_any(participation_ids))
            .filter(outbox_messages::status.eq("queued")),
    )
    .set((
        outbox_messages::status.eq("cancelled"),
        outbox_messages::last_error.eq(why),
    ))
    .execute(conn)
    .map(|_| ())
}

/// A participant who withdrew gets no more reminders.
pub fn cancel_queued_emails(conn: &mut DbConnection, participation_id: i64) -> QueryResult<()> {
    cancel_emails(conn, &[participation_id], "withdrew")
}

/// Someone to be interviewed instead gets no more invitations or reminders to answer online.
pub fn cancel_emails_for_interview(
    conn: &mut DbConnection,
    participation_id: i64,
) -> QueryResult<()> {
    cancel_emails(conn, &[participation_id], "interview assigned instead")
}

/// A participant's participation in a questionnaire of their study.
pub fn participation_of(
    conn: &mut DbConnection,
    study_id: i64,
    participant_id: i64,
    questionnaire_id: i64,
) -> QueryResult<Option<(i64, String, Option<i64>)>> {
    participations::table
        .inner_join(participants::table)
        .filter(participants::study_id.eq(study_id))
        .filter(participants::id.eq(participant_id))
        .filter(participations::questionnaire_id.eq(questionnaire_id))
        .select((
            participations::id,
            participants::code,
            participations::campaign_id,
        ))
        .first(conn)
        .optional()
}

/// A participant to show an email preview for: the one with this code, or the first on the roster.
/// Returns their code and name (when their identity is kept).
pub fn preview_person(
    conn: &mut DbConnection,
    study_id: i64,
    code: Option<&str>,
) -> QueryResult<Option<(String, Option<String>)>> {
    let mut query = participants::table
        .left_join(participant_identities::table)
        .filter(participants::study_id.eq(study_id))
        .order(participants::id.asc())
        .select((participants::code, participant_identities::name.nullable()))
        .into_boxed();
    if let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) {
        query = query.filter(participants::code.eq(code.to_uppercase()));
    }
    query
        .first::<(String, Option<String>)>(conn)
        .optional()
        .map(|found| found.map(|(code, name)| (code, name.filter(|n| !n.is_empty()))))
}

// ---- Open links ----

/// An open link as the team sees it (its secret was shown once, when made).
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct OpenLink {
    pub id: i64,
    pub questionnaire_id: i64,
    pub version_id: i64,
    /// '' when people choose their group themselves.
    pub participant_group: String,
    #[serde(with = "crate::db::utc")]
    pub closes_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc::option")]
    pub revoked_at: Option<NaiveDateTime>,
}

const OPEN_LINK: (
    open_links::id,
    open_links::questionnaire_id,
    open_links::version_id,
    open_links::participant_group,
    open_links::closes_at,
    open_links::created_at,
    open_links::revoked_at,
) = (
    open_links::id,
    open_links::questionnaire_id,
    open_links::version_id,
    open_links::participant_group,
    open_links::closes_at,
    open_links::created_at,
    open_links::revoked_at,
);

pub struct NewOpenLink<'a> {
    pub study_id: i64,
    pub questionnaire_id: i64,
    pub version_id: i64,
    pub group: &'a str,
    pub hash: &'a str,
    pub closes_at: NaiveDateTime,
    pub created_by: i64,
}

pub fn insert_open_link(conn: &mut DbConnection, new: &NewOpenLink) -> QueryResult<i64> {
    diesel::insert_into(open_links::table)
        .values((
            open_links::study_id.eq(new.study_id),
            open_links::questionnaire_id.eq(new.questionnaire_id),
            open_links::version_id.eq(new.version_id),
            open_links::participant_group.eq(new.group),
            open_links::token_hash.eq(new.hash),
            open_links::closes_at.eq(new.closes_at),
            open_links::created_by.eq(new.created_by),
            open_links::created_at.eq(now()),
        ))
        .returning(open_links::id)
        .get_result(conn)
}

pub fn open_links_of(conn: &mut DbConnection, questionnaire_id: i64) -> QueryResult<Vec<OpenLink>> {
    open_links::table
        .filter(open_links::questionnaire_id.eq(questionnaire_id))
        .order(open_links::id.desc())
        .select(OPEN_LINK)
        .load(conn)
}

pub fn revoke_open_link(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    id: i64,
) -> QueryResult<bool> {
    let changed = diesel::update(
        open_links::table
            .find(id)
            .filter(open_links::questionnaire_id.eq(questionnaire_id))
            .filter(open_links::revoked_at.is_null()),
    )
    .set(open_links::revoked_at.eq(now()))
    .execute(conn)?;
    Ok(changed == 1)
}

/// An open link found by its hash, with its study's id and title.
pub fn find_open_link(
    conn: &mut DbConnection,
    hash: &str,
) -> QueryResult<Option<(OpenLink, i64, String)>> {
    open_links::table
        .inner_join(questionnaires::table.inner_join(studies::table))
        .filter(open_links::token_hash.eq(hash))
        .select((OPEN_LINK, studies::id, studies::title))
        .first(conn)
        .optional()
}

/// An open link by its id, with its study's id and title.
pub fn open_link_by_id(
    conn: &mut DbConnection,
    id: i64,
) -> QueryResult<Option<(OpenLink, i64, String)>> {
    open_links::table
        .inner_join(questionnaires::table.inner_join(studies::table))
        .filter(open_links::id.eq(id))
        .select((OPEN_LINK, studies::id, studies::title))
        .first(conn)
        .optional()
}

/// Someone who consented through an open link becomes an anonymous participant (no identity) with a
/// participation of their own. Returns the participation's id.
pub fn create_anonymous(
    conn: &mut DbConnection,
    link: &OpenLink,
    study_id: i64,
) -> QueryResult<i64> {
    let at = now();
    let number: i32 = diesel::update(studies::table.find(study_id))
        .set(studies::next_participant_number.eq(studies::next_participant_number + 1))
        .returning(studies::next_participant_number)
        .get_result(conn)?;
    let participant_id: i64 = diesel::insert_into(participants::table)
        .values((
            participants::study_id.eq(study_id),
            participants::code.eq(participant_code(number - 1)),
            participants::participant_group.eq(&link.participant_group),
            participants::source.eq("open_link"),
            participants::created_at.eq(at),
        ))
        .returning(participants::id)
        .get_result(conn)?;
    diesel::insert_into(participations::table)
        .values((
            participations::participant_id.eq(participant_id),
            participations::questionnaire_id.eq(link.questionnaire_id),
            participations::version_id.eq(link.version_id),
            participations::closes_at.eq(link.closes_at),
            participations::created_at.eq(at),
            participations::opened_at.eq(at),
        ))
        .returning(participations::id)
        .get_result(conn)
}
