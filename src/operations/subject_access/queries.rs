//! The parts of a participant's record that no other task lists by participant: their answers with the
//! questions' wording, and the codings of their words.

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{
    answers, campaign_recipients, codes, codings, consent_records, interviews, link_tokens,
    outbox_messages, participants, participations, questions, responses,
};
use crate::db::DbConnection;

/// One answer as the person gave it (or, in an interview, as the interviewer noted it).
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct HeldAnswer {
    pub response_id: i64,
    /// `online` or `interview`.
    pub mode: String,
    /// The question as worded in the questionnaire (null if it has since been deleted from the draft).
    pub question: Option<String>,
    pub value: String,
    pub skipped: bool,
    /// Interviews: the interviewer's notes for this question.
    pub notes: String,
    #[serde(with = "crate::db::utc")]
    pub updated_at: chrono::NaiveDateTime,
}

/// A passage of their words and the code the analysts gave it.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct HeldCoding {
    pub code: String,
    /// barrier, enabler, mixed or neutral.
    pub valence: String,
    pub quote: String,
    /// Approved for quoting (without their name) in shared reports.
    #[serde(with = "crate::db::utc::option")]
    pub quote_approved_at: Option<chrono::NaiveDateTime>,
}

pub fn answers_of(conn: &mut DbConnection, participant_id: i64) -> QueryResult<Vec<HeldAnswer>> {
    answers::table
        .inner_join(responses::table)
        .left_join(questions::table.on(questions::id.eq(answers::question_id)))
        .filter(responses::participant_id.eq(participant_id))
        .order((answers::response_id, answers::id))
        .select((
            answers::response_id,
            responses::mode,
            questions::text.nullable(),
            answers::value,
            answers::skipped,
            answers::notes,
            answers::updated_at,
        ))
        .load(conn)
}

pub fn codings_of(conn: &mut DbConnection, participant_id: i64) -> QueryResult<Vec<HeldCoding>> {
    codings::table
        .inner_join(answers::table.inner_join(responses::table))
        .inner_join(codes::table.on(codes::id.eq(codings::code_id)))
        .filter(responses::participant_id.eq(participant_id))
        .filter(codings::round_id.is_null())
        .order((
            answers::response_id,
            codings::answer_id,
            codings::start_char,
        ))
        .select((
            codes::name,
            codings::valence,
            codings::quote,
            codings::quote_approved_at,
        ))
        .load(conn)
}

/// What erasing a participant's record removed, counted (the audit log keeps the counts).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct Erased {
    /// Online responses and interview records, with every answer, note and coding of their words.
    pub responses: usize,
    pub interviews: usize,
    /// Emails to them, sent or waiting (their bodies carry the name).
    pub emails: usize,
    /// Their personal links and campaign records.
    pub links: usize,
}

/// Deletes everything held about a participant except their code and group and the fact of each
/// consent decision (kept as withdrawn from now on). Their identity is erased by the caller's
/// transaction too (`distribution::participants::queries::erase_identity`). Codings, interview moments
/// and follow-ups go with the answers and interviews they belong to (ON DELETE CASCADE). Responses
/// already anonymised carry nothing that leads to them, so they cannot be found and stay.
pub fn erase_record(
    conn: &mut DbConnection,
    participant_id: i64,
    at: chrono::NaiveDateTime,
) -> QueryResult<Erased> {
    let theirs: Vec<i64> = participations::table
        .filter(participations::participant_id.eq(participant_id))
        .select(participations::id)
        .load(conn)?;
    let interviews =
        diesel::delete(interviews::table.filter(interviews::participation_id.eq_any(&theirs)))
            .execute(conn)?;
    let responses = diesel::delete(
        responses::table.filter(
            responses::participant_id
                .eq(participant_id)
                .or(responses::participation_id.eq_any(&theirs)),
        ),
    )
    .execute(conn)?;
    let emails = diesel::delete(
        outbox_messages::table.filter(outbox_messages::participation_id.eq_any(&theirs)),
    )
    .execute(conn)?;
    let links =
        diesel::delete(link_tokens::table.filter(link_tokens::participation_id.eq_any(&theirs)))
            .execute(conn)?
            + diesel::delete(
                campaign_recipients::table
                    .filter(campaign_recipients::participant_id.eq(participant_id)),
            )
            .execute(conn)?;
    // When they opened, started and finished go; when they consented or declined stays, and from now
    // on they have withdrawn.
    let none: Option<chrono::NaiveDateTime> = None;
    diesel::update(participations::table.filter(participations::id.eq_any(&theirs)))
        .set((
            participations::opened_at.eq(none),
            participations::started_at.eq(none),
            participations::completed_at.eq(none),
        ))
        .execute(conn)?;
    diesel::update(
        participations::table
            .filter(participations::id.eq_any(&theirs))
            .filter(participations::withdrawn_at.is_null()),
    )
    .set(participations::withdrawn_at.eq(at))
    .execute(conn)?;
    diesel::update(
        consent_records::table
            .filter(consent_records::participation_id.eq_any(&theirs))
            .filter(consent_records::withdrawn_at.is_null()),
    )
    .set(consent_records::withdrawn_at.eq(at))
    .execute(conn)?;
    diesel::update(participants::table.find(participant_id))
        .set((
            participants::service_area.eq(""),
            participants::system_level.eq(""),
            participants::tags.eq("[]"),
            participants::record_erased_at.eq(at),
        ))
        .execute(conn)?;
    Ok(Erased {
        responses,
        interviews,
        emails,
        links,
    })
}
