//! Storage for coding: the texts analysts code (sent answers and interview notes, with the
//! participant's pseudonymous code and group, never their identity) and the coded passages.

use std::collections::HashMap;

use chrono::NaiveDateTime;

use diesel::dsl::count;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::Passage;
use crate::db::schema::{answers, coding_round_sources, codings, participants, responses};
use crate::db::{now, DbConnection};

/// One answer that has text to code, with who gave it in pseudonymous terms.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct SourceRow {
    pub answer_id: i64,
    pub response_id: i64,
    pub question_id: i64,
    #[serde(skip)]
    pub value: String,
    #[serde(skip)]
    pub notes: String,
    pub version_id: i64,
    /// online or interview.
    pub mode: String,
    pub group: String,
    pub service: String,
    pub level: String,
    /// The participant's code; null once the response is anonymised.
    pub participant_code: Option<String>,
}

/// Which sources to read: one question's answers, one response's, a double-coding round's, or the
/// whole study's; or, for the exports' pages, those of the responses, or the coded answers, with ids
/// after `after` up to `up_to`.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Study,
    Question(i64),
    Response(i64),
    Round(i64),
    Responses { after: i64, up_to: i64 },
    Coded { after: i64, up_to: i64 },
}

/// Whose codings to read: the study's, or a round's (one coder's, or both for agreement).
#[derive(Debug, Clone, Copy)]
pub enum View {
    Study,
    Round { round_id: i64, coder: Option<i64> },
}

type SourceColumns = (
    answers::id,
    answers::response_id,
    answers::question_id,
    answers::value,
    answers::notes,
    responses::version_id,
    responses::mode,
    responses::participant_group,
    responses::service_area,
    responses::system_level,
    diesel::helper_types::Nullable<participants::code>,
);

fn source_columns() -> SourceColumns {
    (
        answers::id,
        answers::response_id,
        answers::question_id,
        answers::value,
        answers::notes,
        responses::version_id,
        responses::mode,
        responses::participant_group,
        responses::service_area,
        responses::system_level,
        participants::code.nullable(),
    )
}

/// Sent answers of the study in `scope` with any text, a page at a time, and how many there are.
/// Only sent responses are coded: an interview's notes are sent when it closes.
pub fn sources(
    conn: &mut DbConnection,
    study_id: i64,
    scope: Scope,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<SourceRow>, i64)> {
    let base = || {
        let query = answers::table
            .inner_join(responses::table)
            .left_join(
                participants::table.on(participants::id.nullable().eq(responses::participant_id)),
            )
            .filter(responses::study_id.eq(study_id))
            .filter(responses::submitted_at.is_not_null())
            .filter(answers::value.ne("").or(answers::notes.ne("")))
            .into_boxed();
        match scope {
            Scope::Study => query,
            Scope::Question(id) => query.filter(answers::question_id.eq(id)),
            Scope::Response(id) => query.filter(answers::response_id.eq(id)),
            Scope::Round(id) => query.filter(
                answers::id.eq_any(
                    coding_round_sources::table
                        .filter(coding_round_sources::round_id.eq(id))
                        .select(coding_round_sources::answer_id),
                ),
            ),
            Scope::Responses { after, up_to } => query
                .filter(answers::response_id.gt(after))
                .filter(answers::response_id.le(up_to)),
            Scope::Coded { after, up_to } => query
                .filter(answers::id.gt(after))
                .filter(answers::id.le(up_to))
                .filter(
                    answers::id.eq_any(
                        codings::table
                            .filter(codings::study_id.eq(study_id))
                            .filter(codings::round_id.is_null())
                            .select(codings::answer_id),
                    ),
                ),
        }
    };
    let total: i64 = base().count().get_result(conn)?;
    let rows = base()
        .order((answers::response_id, answers::question_id))
        .offset(offset)
        .limit(limit)
        .select(source_columns())
        .load(conn)?;
    Ok((rows, total))
}

/// One source by its answer's id, when it belongs to a sent response of the study.
pub fn source(
    conn: &mut DbConnection,
    study_id: i64,
    answer_id: i64,
) -> QueryResult<Option<SourceRow>> {
    answers::table
        .inner_join(responses::table)
        .left_join(
            participants::table.on(participants::id.nullable().eq(responses::participant_id)),
        )
        .filter(responses::study_id.eq(study_id))
        .filter(responses::submitted_at.is_not_null())
        .filter(answers::id.eq(answer_id))
        .select(source_columns())
        .first(conn)
        .optional()
}

/// The versions the study's sent responses were given in.
pub fn answered_versions(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<i64>> {
    responses::table
        .filter(responses::study_id.eq(study_id))
        .filter(responses::submitted_at.is_not_null())
        .select(responses::version_id)
        .distinct()
        .order(responses::version_id.desc())
        .load(conn)
}

/// Per question: answers with text to code, and how many of them carry a coding.
pub fn question_counts(
    conn: &mut DbConnection,
    study_id: i64,
) -> QueryResult<HashMap<i64, (i64, i64)>> {
    let with_text: Vec<(i64, i64)> = answers::table
        .inner_join(responses::table)
        .filter(responses::study_id.eq(study_id))
        .filter(responses::submitted_at.is_not_null())
        .filter(answers::value.ne("").or(answers::notes.ne("")))
        .group_by(answers::question_id)
        .select((
            answers::question_id,
            count(answers::id).aggregate_distinct(),
        ))
        .load(conn)?;
    let coded: HashMap<i64, i64> = codings::table
        .inner_join(answers::table)
        .filter(codings::study_id.eq(study_id))
        .filter(codings::round_id.is_null())
        .group_by(answers::question_id)
        .select((
            answers::question_id,
            count(codings::answer_id).aggregate_distinct(),
        ))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(with_text
        .into_iter()
        .map(|(question, n)| (question, (n, coded.get(&question).copied().unwrap_or(0))))
        .collect())
}

/// A sent response in pseudonymous terms, with its passages coded so far.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct ResponseRow {
    pub response_id: i64,
    pub participant_code: Option<String>,
    pub group: String,
    pub service: String,
    pub level: String,
    pub mode: String,
    #[serde(skip)]
    pub submitted_at: Option<NaiveDateTime>,
}

/// The study's sent responses, or those among `only`.
pub fn sent_responses(
    conn: &mut DbConnection,
    study_id: i64,
    only: Option<&[i64]>,
) -> QueryResult<Vec<ResponseRow>> {
    let mut query = responses::table
        .left_join(
            participants::table.on(participants::id.nullable().eq(responses::participant_id)),
        )
        .filter(responses::study_id.eq(study_id))
        .filter(responses::submitted_at.is_not_null())
        .into_boxed();
    if let Some(ids) = only {
        query = query.filter(responses::id.eq_any(ids));
    }
    query
        .order(responses::id)
        .select((
            responses::id,
            participants::code.nullable(),
            responses::participant_group,
            responses::service_area,
            responses::system_level,
            responses::mode,
            responses::submitted_at,
        ))
        .load(conn)
}

/// Coded passages per response.
pub fn codings_per_response(
    conn: &mut DbConnection,
    study_id: i64,
) -> QueryResult<HashMap<i64, i64>> {
    Ok(codings::table
        .inner_join(answers::table)
        .filter(codings::study_id.eq(study_id))
        .filter(codings::round_id.is_null())
        .group_by(answers::response_id)
        .select((
            answers::response_id,
            count(codings::id).aggregate_distinct(),
        ))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect())
}

/// A coded passage as stored.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = codings)]
pub struct Coding {
    pub id: i64,
    #[serde(skip)]
    pub study_id: i64,
    pub answer_id: i64,
    /// answer or notes.
    pub field: String,
    /// First character (0-based, Unicode characters).
    #[serde(rename = "start")]
    pub start_char: i32,
    /// Character after the passage (end exclusive).
    #[serde(rename = "end")]
    pub end_char: i32,
    /// The passage as it read when coded.
    pub quote: String,
    pub code_id: i64,
    pub valence: String,
    pub coder_id: i64,
    /// When a lead approved quoting the passage in shared reports.
    #[serde(with = "crate::db::utc::option")]
    pub quote_approved_at: Option<NaiveDateTime>,
    /// The double-coding round this is a coder's blind work in; null for the study's coding.
    pub round_id: Option<i64>,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
}

/// The study's coding (not rounds'), every passage.
pub fn codings_of_study(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<Coding>> {
    codings::table
        .filter(codings::study_id.eq(study_id))
        .filter(codings::round_id.is_null())
        .order((codings::answer_id, codings::start_char, codings::id))
        .select(Coding::as_select())
        .load(conn)
}

pub fn codings_of_answers(
    conn: &mut DbConnection,
    answer_ids: &[i64],
    view: View,
) -> QueryResult<Vec<Coding>> {
    let query = codings::table
        .filter(codings::answer_id.eq_any(answer_ids))
        .order((codings::answer_id, codings::start_char, codings::id))
        .select(Coding::as_select())
        .into_boxed();
    match view {
        View::Study => query.filter(codings::round_id.is_null()).load(conn),
        View::Round { round_id, coder } => {
            let query = query.filter(codings::round_id.eq(round_id));
            match coder {
                Some(coder) => query.filter(codings::coder_id.eq(coder)).load(conn),
                None => query.load(conn),
            }
        }
    }
}

pub fn coding(
    conn: &mut DbConnection,
    study_id: i64,
    coding_id: i64,
) -> QueryResult<Option<Coding>> {
    codings::table
        .filter(codings::study_id.eq(study_id))
        .filter(codings::id.eq(coding_id))
        .select(Coding::as_select())
        .first(conn)
        .optional()
}

/// Codes a passage with `code_id`, unless this coder already coded exactly that passage with it.
/// Returns the coding either way.
pub fn insert_coding(
    conn: &mut DbConnection,
    study_id: i64,
    answer_id: i64,
    passage: &Passage,
    code_id: i64,
    coder_id: i64,
    round_id: Option<i64>,
) -> QueryResult<Coding> {
    let same = codings::table
        .into_boxed()
        .filter(codings::answer_id.eq(answer_id))
        .filter(codings::field.eq(passage.field.as_str()))
        .filter(codings::start_char.eq(passage.start as i32))
        .filter(codings::end_char.eq(passage.end as i32))
        .filter(codings::code_id.eq(code_id))
        .filter(codings::coder_id.eq(coder_id));
    let same = match round_id {
        Some(round) => same.filter(codings::round_id.eq(round)),
        None => same.filter(codings::round_id.is_null()),
    };
    if let Some(found) = same.select(Coding::as_select()).first(conn).optional()? {
        return Ok(found);
    }
    let id: i64 = diesel::insert_into(codings::table)
        .values((
            codings::study_id.eq(study_id),
            codings::answer_id.eq(answer_id),
            codings::field.eq(passage.field.as_str()),
            codings::start_char.eq(passage.start as i32),
            codings::end_char.eq(passage.end as i32),
            codings::quote.eq(&passage.quote),
            codings::code_id.eq(code_id),
            codings::valence.eq(passage.valence.as_str()),
            codings::coder_id.eq(coder_id),
            codings::round_id.eq(round_id),
            codings::created_at.eq(now()),
        ))
        .returning(codings::id)
        .get_result(conn)?;
    codings::table
        .find(id)
        .select(Coding::as_select())
        .first(conn)
}

pub fn delete_coding(conn: &mut DbConnection, coding_id: i64) -> QueryResult<usize> {
    diesel::delete(codings::table.find(coding_id)).execute(conn)
}
