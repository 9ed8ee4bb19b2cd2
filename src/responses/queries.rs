//! Storage for consent records, responses and answers, and the participation milestones they set.
//! No HTTP here.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{Answer, Answers, StatementAnswer};
use crate::db::schema::{
    answers, consent_records, link_tokens, participant_identities, participants, participations,
    responses, studies,
};
use crate::db::{now, on_backend, DbConnection};
use crate::distribution::links::queries::{LinkTarget, Purpose};

// ---- The participant and their study, as answering needs them ----

/// The pseudonymous facts about a participant that decide what they are asked, and whether an email
/// address is kept for them (never the address itself).
#[derive(Debug, Clone, Queryable)]
pub struct Person {
    pub group: String,
    pub service_area: String,
    pub system_level: String,
    pub communication_needs: Option<String>,
    pub email: Option<String>,
}

impl Person {
    pub fn needs_easy_read(&self) -> bool {
        crate::distribution::participants::rules::needs_easy_read(
            self.communication_needs.as_deref(),
        )
    }
}

type PersonColumns = (
    participants::participant_group,
    participants::service_area,
    participants::system_level,
    diesel::dsl::Nullable<participant_identities::communication_needs>,
    diesel::dsl::Nullable<participant_identities::email>,
);

/// The columns of a `Person` (the identity's are null for someone erased or never named).
fn person_columns() -> PersonColumns {
    (
        participants::participant_group,
        participants::service_area,
        participants::system_level,
        participant_identities::communication_needs.nullable(),
        participant_identities::email.nullable(),
    )
}

pub fn person(conn: &mut DbConnection, participant_id: i64) -> QueryResult<Person> {
    participants::table
        .left_join(participant_identities::table)
        .filter(participants::id.eq(participant_id))
        .select(person_columns())
        .first(conn)
}

pub fn set_group(conn: &mut DbConnection, participant_id: i64, group: &str) -> QueryResult<()> {
    diesel::update(participants::table.find(participant_id))
        .set(participants::participant_group.eq(group))
        .execute(conn)
        .map(|_| ())
}

/// What the study decided about answers: (anonymise at submission, changes allowed after it).
pub fn study_terms(conn: &mut DbConnection, study_id: i64) -> QueryResult<(bool, bool)> {
    studies::table
        .find(study_id)
        .select((studies::anonymise_responses, studies::changes_after_submit))
        .first(conn)
}

/// On PostgreSQL, holds the link's participation until the transaction ends, so a double click or a
/// second tab waits its turn instead of racing (SQLite writes take turns already). A joining link (from
/// an open link, before consent) has no participation yet: two presses of "I agree" with it take turns
/// on the link itself (an advisory lock on its hash), so the second finds the participant the first
/// admitted, while everyone else joining by the same open link goes ahead.
pub fn hold_link(conn: &mut DbConnection, link_hash: &str) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        let held = participations::table
            .inner_join(link_tokens::table)
            .filter(link_tokens::token_hash.eq(link_hash))
            .select(participations::id)
            .for_update()
            .first::<i64>(pg)
            .optional()?;
        if held.is_none() {
            diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(advisory_key(link_hash))
                .execute(pg)?;
        }
    }
    Ok(())
}

/// An advisory lock's key from a token's hash (hex SHA-256): its first 64 bits. Two links sharing
/// them would only take turns.
fn advisory_key(link_hash: &str) -> i64 {
    let prefix = link_hash.get(..16).unwrap_or(link_hash);
    u64::from_str_radix(prefix, 16).map_or(0, |bits| bits as i64)
}

/// Everything a participant's page reads, as stored: what the link leads to, the person, the study's
/// terms, the consent in force, the response and its answers.
pub struct Stored {
    pub target: LinkTarget,
    pub person: Person,
    pub anonymise: bool,
    pub changes_after_submit: bool,
    pub consent: Option<ConsentRecord>,
    pub response: Option<Response>,
    pub answers: Answers,
}

type StoredRow = (
    LinkTarget,
    Person,
    (bool, bool),
    Option<ConsentRecord>,
    Option<Response>,
    Option<(i64, String, bool)>,
);

/// Reads everything a participant's page needs in one statement, one row per answer: on PostgreSQL
/// each statement is a round trip, and the pages were six. The consent in force is the record no newer
/// revision follows (an anti-join on a second copy of the table), so the statement stays fixed and its
/// prepared form is reused. None for a link we do not know.
pub fn stored_visit(
    conn: &mut DbConnection,
    link_hash: &str,
    purpose: Purpose,
) -> QueryResult<Option<Stored>> {
    // On each backend's own connection: through the MultiConnection the statement's SQL would be
    // built again on every run to find it in the cache, a large part of a page's time for a statement
    // this size.
    let rows = on_backend!(conn, |c| {
        let newer = diesel::alias!(consent_records as newer_consents);
        link_tokens::table
            .inner_join(
                participations::table.inner_join(participants::table.inner_join(studies::table)),
            )
            .left_join(
                participant_identities::table
                    .on(participant_identities::participant_id.eq(participants::id)),
            )
            .left_join(
                consent_records::table.on(consent_records::participation_id.eq(participations::id)),
            )
            .left_join(
                newer.on(newer
                    .field(consent_records::participation_id)
                    .eq(consent_records::participation_id)
                    .and(
                        newer
                            .field(consent_records::revision)
                            .gt(consent_records::revision),
                    )),
            )
            .left_join(
                responses::table.on(responses::participation_id.eq(participations::id.nullable())),
            )
            .left_join(answers::table.on(answers::response_id.eq(responses::id)))
            .filter(link_tokens::token_hash.eq(link_hash))
            .filter(link_tokens::purpose.eq(purpose.as_str()))
            .filter(newer.field(consent_records::id).is_null())
            .select((
                LinkTarget::as_select(),
                person_columns(),
                (studies::anonymise_responses, studies::changes_after_submit),
                CONSENT.nullable(),
                // The struct's fields are the table's columns in order (as_select cannot be nullable here).
                responses::all_columns.nullable(),
                (answers::question_id, answers::value, answers::skipped).nullable(),
            ))
            .load::<StoredRow>(c)
    })?;
    let mut rows = rows.into_iter();
    let Some((target, person, (anonymise, changes_after_submit), consent, response, first)) =
        rows.next()
    else {
        return Ok(None);
    };
    let answers = first
        .into_iter()
        .chain(rows.filter_map(|row| row.5))
        .map(|(id, value, skipped)| (id, Answer { value, skipped }))
        .collect();
    Ok(Some(Stored {
        target,
        person,
        anonymise,
        changes_after_submit,
        consent,
        response,
        answers,
    }))
}

// ---- Consent records ----

#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct ConsentRecord {
    pub id: i64,
    pub participation_id: i64,
    /// 1 for the first decision; each later decision (declined, then consented) adds one.
    pub revision: i32,
    pub version_id: i64,
    /// SHA-256 of the information sheet and statements shown.
    pub information_hash: String,
    #[serde(skip)]
    pub statements_json: String,
    /// consented or declined.
    pub decision: String,
    /// online, or verbal (recorded by an interviewer).
    pub method: String,
    #[serde(skip)]
    pub recorded_by: Option<i64>,
    #[serde(with = "crate::db::utc")]
    pub recorded_at: NaiveDateTime,
    #[serde(with = "crate::db::utc::option")]
    pub withdrawn_at: Option<NaiveDateTime>,
}

impl ConsentRecord {
    pub fn statements(&self) -> Vec<StatementAnswer> {
        serde_json::from_str(&self.statements_json).unwrap_or_default()
    }

    pub fn consented(&self) -> bool {
        self.decision == "consented"
    }
}

const CONSENT: (
    consent_records::id,
    consent_records::participation_id,
    consent_records::revision,
    consent_records::version_id,
    consent_records::information_hash,
    consent_records::statements,
    consent_records::decision,
    consent_records::method,
    consent_records::recorded_by,
    consent_records::recorded_at,
    consent_records::withdrawn_at,
) = (
    consent_records::id,
    consent_records::participation_id,
    consent_records::revision,
    consent_records::version_id,
    consent_records::information_hash,
    consent_records::statements,
    consent_records::decision,
    consent_records::method,
    consent_records::recorded_by,
    consent_records::recorded_at,
    consent_records::withdrawn_at,
);

/// The decision in force: the newest revision.
pub fn latest_consent(
    conn: &mut DbConnection,
    participation_id: i64,
) -> QueryResult<Option<ConsentRecord>> {
    consent_records::table
        .filter(consent_records::participation_id.eq(participation_id))
        .order(consent_records::revision.desc())
        .select(CONSENT)
        .first(conn)
        .optional()
}

pub struct NewConsent<'a> {
    pub participation_id: i64,
    pub version_id: i64,
    pub information_hash: &'a str,
    pub statements: &'a [StatementAnswer],
    pub consented: bool,
    /// None for online; the interviewer for verbal consent.
    pub recorded_by: Option<i64>,
}

pub fn insert_consent(conn: &mut DbConnection, new: &NewConsent) -> QueryResult<ConsentRecord> {
    let revision = latest_consent(conn, new.participation_id)?.map_or(1, |r| r.revision + 1);
    let at = now();
    let statements = serde_json::to_string(new.statements).expect("statements are plain data");
    let decision = if new.consented {
        "consented"
    } else {
        "declined"
    };
    let method = if new.recorded_by.is_some() {
        "verbal"
    } else {
        "online"
    };
    diesel::insert_into(consent_records::table)
        .values((
            consent_records::participation_id.eq(new.participation_id),
            consent_records::revision.eq(revision),
            consent_records::version_id.eq(new.version_id),
            consent_records::information_hash.eq(new.information_hash),
            consent_records::statements.eq(&statements),
            consent_records::decision.eq(decision),
            consent_records::method.eq(method),
            consent_records::recorded_by.eq(new.recorded_by),
            consent_records::recorded_at.eq(at),
        ))
        .returning(CONSENT)
        .get_result(conn)
}

pub fn mark_consent_withdrawn(
    conn: &mut DbConnection,
    participation_id: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        consent_records::table
            .filter(consent_records::participation_id.eq(participation_id))
            .filter(consent_records::withdrawn_at.is_null()),
    )
    .set(consent_records::withdrawn_at.eq(at))
    .execute(conn)
    .map(|_| ())
}

// ---- Participation milestones ----

pub fn mark_consented(conn: &mut DbConnection, participation_id: i64) -> QueryResult<()> {
    diesel::update(participations::table.find(participation_id))
        .set((
            participations::consented_at.eq(now()),
            participations::declined_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn mark_declined(conn: &mut DbConnection, participation_id: i64) -> QueryResult<()> {
    diesel::update(participations::table.find(participation_id))
        .set(participations::declined_at.eq(now()))
        .execute(conn)
        .map(|_| ())
}

pub fn mark_completed(
    conn: &mut DbConnection,
    participation_id: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(
        participations::table
            .find(participation_id)
            .filter(participations::completed_at.is_null()),
    )
    .set(participations::completed_at.eq(at))
    .execute(conn)
    .map(|_| ())
}

pub fn mark_withdrawn(
    conn: &mut DbConnection,
    participation_id: i64,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(participations::table.find(participation_id))
        .set(participations::withdrawn_at.eq(at))
        .execute(conn)
        .map(|_| ())
}

// ---- Responses ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = responses)]
pub struct Response {
    pub id: i64,
    #[serde(skip)]
    pub participation_id: Option<i64>,
    #[serde(skip)]
    pub participant_id: Option<i64>,
    pub study_id: i64,
    pub questionnaire_id: i64,
    pub version_id: i64,
    /// online or interview.
    pub mode: String,
    /// Whose wording was shown: staff, service_user, carer or easy_read.
    pub audience: String,
    pub participant_group: String,
    pub service_area: String,
    pub system_level: String,
    /// The page to continue from (from 1).
    pub page: i32,
    #[serde(with = "crate::db::utc")]
    pub started_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
    #[serde(with = "crate::db::utc::option")]
    pub submitted_at: Option<NaiveDateTime>,
}

pub fn response_of(
    conn: &mut DbConnection,
    participation_id: i64,
) -> QueryResult<Option<Response>> {
    responses::table
        .filter(responses::participation_id.eq(participation_id))
        .select(Response::as_select())
        .first(conn)
        .optional()
}

pub struct NewResponse<'a> {
    pub participation_id: i64,
    pub participant_id: i64,
    pub study_id: i64,
    pub questionnaire_id: i64,
    pub version_id: i64,
    pub mode: &'a str,
    pub audience: &'a str,
    pub person: &'a Person,
}

/// Starts a response and marks the participation started; returns the response's id.
pub fn insert_response(conn: &mut DbConnection, new: &NewResponse) -> QueryResult<i64> {
    let at = now();
    diesel::update(
        participations::table
            .find(new.participation_id)
            .filter(participations::started_at.is_null()),
    )
    .set(participations::started_at.eq(at))
    .execute(conn)?;
    diesel::insert_into(responses::table)
        .values((
            responses::participation_id.eq(new.participation_id),
            responses::participant_id.eq(new.participant_id),
            responses::study_id.eq(new.study_id),
            responses::questionnaire_id.eq(new.questionnaire_id),
            responses::version_id.eq(new.version_id),
            responses::mode.eq(new.mode),
            responses::audience.eq(new.audience),
            responses::participant_group.eq(&new.person.group),
            responses::service_area.eq(&new.person.service_area),
            responses::system_level.eq(&new.person.system_level),
            responses::started_at.eq(at),
            responses::updated_at.eq(at),
        ))
        .returning(responses::id)
        .get_result(conn)
}

/// Stores a page's answers in one statement (an upsert: a second tab or a resent form overwrites
/// rather than duplicates), clears those emptied, and notes the page to continue from.
pub fn save_answers(
    conn: &mut DbConnection,
    response_id: i64,
    changes: &[(i64, Option<Answer>)],
    page: i32,
) -> QueryResult<NaiveDateTime> {
    let at = now();
    let cleared: Vec<i64> = changes
        .iter()
        .filter(|(_, a)| a.is_none())
        .map(|(id, _)| *id)
        .collect();
    if !cleared.is_empty() {
        diesel::delete(
            answers::table
                .filter(answers::response_id.eq(response_id))
                .filter(answers::question_id.eq_any(&cleared)),
        )
        .execute(conn)?;
    }
    let rows: Vec<_> = changes
        .iter()
        .filter_map(|(id, a)| a.as_ref().map(|a| (id, a)))
        .map(|(id, a)| {
            (
                answers::response_id.eq(response_id),
                answers::question_id.eq(*id),
                answers::value.eq(a.value.as_str()),
                answers::skipped.eq(a.skipped),
                answers::updated_at.eq(at),
            )
        })
        .collect();
    if !rows.is_empty() {
        use diesel::upsert::excluded;
        on_backend!(conn, |c| diesel::insert_into(answers::table)
            .values(&rows)
            .on_conflict((answers::response_id, answers::question_id))
            .do_update()
            .set((
                answers::value.eq(excluded(answers::value)),
                answers::skipped.eq(excluded(answers::skipped)),
                answers::updated_at.eq(excluded(answers::updated_at)),
            ))
            .execute(c))?;
    }
    diesel::update(responses::table.find(response_id))
        .set((responses::page.eq(page), responses::updated_at.eq(at)))
        .execute(conn)?;
    Ok(at)
}

/// Marks a response sent. With `anonymise`, the link to the participant is dropped and its times
/// are kept only to the day.
pub fn submit(
    conn: &mut DbConnection,
    response: &Response,
    at: NaiveDateTime,
    anonymise: bool,
) -> QueryResult<()> {
    if anonymise {
        let day = |t: NaiveDateTime| t.date().and_hms_opt(0, 0, 0).expect("midnight exists");
        diesel::update(responses::table.find(response.id))
            .set((
                responses::participation_id.eq(None::<i64>),
                responses::participant_id.eq(None::<i64>),
                responses::started_at.eq(day(response.started_at)),
                responses::updated_at.eq(day(at)),
                responses::submitted_at.eq(day(at)),
            ))
            .execute(conn)?;
        diesel::update(answers::table.filter(answers::response_id.eq(response.id)))
            .set(answers::updated_at.eq(day(at)))
            .execute(conn)?;
    } else {
        diesel::update(responses::table.find(response.id))
            .set((responses::submitted_at.eq(at), responses::updated_at.eq(at)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn delete_response(conn: &mut DbConnection, response_id: i64) -> QueryResult<usize> {
    let answers = diesel::delete(answers::table.filter(answers::response_id.eq(response_id)))
        .execute(conn)?;
    diesel::delete(responses::table.find(response_id)).execute(conn)?;
    Ok(answers)
}

// ---- The team's view: pseudonymous codes only ----

/// A response as leads and analysts see it: the participant's code (none once anonymised), never
/// their identity.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResponseSummary {
    #[serde(flatten)]
    pub response: Response,
    /// The participant's pseudonymous code; null once the response is anonymised.
    pub code: Option<String>,
    /// Questions answered (skips not counted).
    pub answered: i64,
}

pub fn responses_of_study(
    conn: &mut DbConnection,
    study_id: i64,
) -> QueryResult<Vec<ResponseSummary>> {
    use diesel::dsl::count;
    let rows: Vec<(Response, Option<String>)> = responses::table
        .left_join(
            participants::table.on(participants::id.nullable().eq(responses::participant_id)),
        )
        .filter(responses::study_id.eq(study_id))
        .order(responses::id.asc())
        .select((Response::as_select(), participants::code.nullable()))
        .load(conn)?;
    let counts: std::collections::HashMap<i64, i64> = answers::table
        .inner_join(responses::table)
        .filter(responses::study_id.eq(study_id))
        .filter(answers::skipped.eq(false))
        .group_by(answers::response_id)
        .select((answers::response_id, count(answers::id)))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|(response, code)| ResponseSummary {
            answered: counts.get(&response.id).copied().unwrap_or(0),
            response,
            code,
        })
        .collect())
}

/// One answer as the team reads it.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct StoredAnswer {
    /// The question's id in the response's published version.
    pub question_id: i64,
    /// The answer given; in an interview, the structured answer (open questions keep theirs in notes).
    pub value: String,
    pub skipped: bool,
    /// Interviews: the interviewer's notes for the question.
    pub notes: String,
    /// Interviews: asked, skipped, declined, out_of_time, or empty.
    pub status: String,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
}

pub fn response_in_study(
    conn: &mut DbConnection,
    study_id: i64,
    response_id: i64,
) -> QueryResult<Option<(ResponseSummary, Vec<StoredAnswer>)>> {
    let found: Option<(Response, Option<String>)> = responses::table
        .left_join(
            participants::table.on(participants::id.nullable().eq(responses::participant_id)),
        )
        .filter(responses::study_id.eq(study_id))
        .filter(responses::id.eq(response_id))
        .select((Response::as_select(), participants::code.nullable()))
        .first(conn)
        .optional()?;
    let Some((response, code)) = found else {
        return Ok(None);
    };
    let answers: Vec<StoredAnswer> = answers::table
        .filter(answers::response_id.eq(response_id))
        .order(answers::question_id.asc())
        .select((
            answers::question_id,
            answers::value,
            answers::skipped,
            answers::notes,
            answers::status,
            answers::updated_at,
        ))
        .load(conn)?;
    let answered = answers.iter().filter(|a| !a.skipped).count() as i64;
    Ok(Some((
        ResponseSummary {
            response,
            code,
            answered,
        },
        answers,
    )))
}

/// A consent record as the team sees it: the participant's code, the questionnaire, and what they
/// agreed to.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentStatus {
    pub code: String,
    pub questionnaire_id: i64,
    #[serde(flatten)]
    pub record: ConsentRecord,
    pub statements: Vec<StatementAnswer>,
}

/// Every consent record of the study, newest revision first within each participation.
pub fn consent_of_study(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<ConsentStatus>> {
    let rows: Vec<(ConsentRecord, String, i64)> = consent_records::table
        .inner_join(participations::table.inner_join(participants::table))
        .filter(participants::study_id.eq(study_id))
        .order((
            participants::code.asc(),
            participations::questionnaire_id.asc(),
            consent_records::revision.desc(),
        ))
        .select((
            CONSENT,
            participants::code,
            participations::questionnaire_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(record, code, questionnaire_id)| ConsentStatus {
            statements: record.statements(),
            code,
            questionnaire_id,
            record,
        })
        .collect())
}
