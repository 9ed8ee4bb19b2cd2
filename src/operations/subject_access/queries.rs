//! The parts of a participant's record that no other task lists by participant: their answers with the
//! questions' wording, and the codings of their words.

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{answers, codes, codings, questions, responses};
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
