//! Storage for double-coding rounds: the round, its sources and the lead's consensus decisions.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{coding_round_sources, coding_rounds, round_consensus};
use crate::db::{now, on_backend, DbConnection};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = coding_rounds)]
pub struct Round {
    pub id: i64,
    #[serde(skip)]
    pub study_id: i64,
    pub name: String,
    /// character or answer: how agreement is counted.
    pub unit: String,
    pub first_coder_id: i64,
    pub second_coder_id: i64,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
}

impl Round {
    pub fn is_coder(&self, user_id: i64) -> bool {
        self.first_coder_id == user_id || self.second_coder_id == user_id
    }
}

pub struct NewRound<'a> {
    pub name: &'a str,
    pub unit: &'a str,
    pub first_coder_id: i64,
    pub second_coder_id: i64,
}

pub fn insert_round(
    conn: &mut DbConnection,
    study_id: i64,
    round: &NewRound,
    answer_ids: &[i64],
    created_by: i64,
) -> QueryResult<i64> {
    let id: i64 = diesel::insert_into(coding_rounds::table)
        .values((
            coding_rounds::study_id.eq(study_id),
            coding_rounds::name.eq(round.name),
            coding_rounds::unit.eq(round.unit),
            coding_rounds::first_coder_id.eq(round.first_coder_id),
            coding_rounds::second_coder_id.eq(round.second_coder_id),
            coding_rounds::created_by.eq(created_by),
            coding_rounds::created_at.eq(now()),
        ))
        .returning(coding_rounds::id)
        .get_result(conn)?;
    let rows: Vec<_> = answer_ids
        .iter()
        .map(|&answer| {
            (
                coding_round_sources::round_id.eq(id),
                coding_round_sources::answer_id.eq(answer),
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        on_backend!(conn, |c| diesel::insert_into(coding_round_sources::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(id)
}

pub fn rounds_of(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<Round>> {
    coding_rounds::table
        .filter(coding_rounds::study_id.eq(study_id))
        .order(coding_rounds::id.desc())
        .select(Round::as_select())
        .load(conn)
}

pub fn round(conn: &mut DbConnection, study_id: i64, round_id: i64) -> QueryResult<Option<Round>> {
    coding_rounds::table
        .filter(coding_rounds::study_id.eq(study_id))
        .filter(coding_rounds::id.eq(round_id))
        .select(Round::as_select())
        .first(conn)
        .optional()
}

/// Checks that `coder` codes in the round and that the answer is one of its sources.
pub fn check_coder(
    conn: &mut DbConnection,
    study_id: i64,
    round_id: i64,
    coder: i64,
    answer_id: i64,
) -> Result<(), AppError> {
    let round = round(conn, study_id, round_id)?
        .ok_or_else(|| AppError::invalid("round_id", "There is no such double-coding round"))?;
    if !round.is_coder(coder) {
        return Err(AppError::Forbidden);
    }
    let in_round: i64 = coding_round_sources::table
        .filter(coding_round_sources::round_id.eq(round_id))
        .filter(coding_round_sources::answer_id.eq(answer_id))
        .count()
        .get_result(conn)?;
    if in_round == 0 {
        return Err(AppError::invalid(
            "answer_id",
            "This answer is not one of the round's sources",
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = round_consensus)]
pub struct Consensus {
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub round_id: i64,
    pub answer_id: i64,
    pub field: String,
    pub code_id: i64,
    /// first, second, both or neither: whose passages were kept.
    pub decision: String,
    pub note: String,
    #[serde(with = "crate::db::utc")]
    pub decided_at: NaiveDateTime,
}

pub fn consensus_of(conn: &mut DbConnection, round_id: i64) -> QueryResult<Vec<Consensus>> {
    round_consensus::table
        .filter(round_consensus::round_id.eq(round_id))
        .select(Consensus::as_select())
        .load(conn)
}

pub struct Decision<'a> {
    pub answer_id: i64,
    pub field: &'a str,
    pub code_id: i64,
    pub decision: &'a str,
    pub note: &'a str,
}

pub fn insert_consensus(
    conn: &mut DbConnection,
    round_id: i64,
    decision: &Decision,
    decided_by: i64,
) -> QueryResult<()> {
    diesel::insert_into(round_consensus::table)
        .values((
            round_consensus::round_id.eq(round_id),
            round_consensus::answer_id.eq(decision.answer_id),
            round_consensus::field.eq(decision.field),
            round_consensus::code_id.eq(decision.code_id),
            round_consensus::decision.eq(decision.decision),
            round_consensus::note.eq(decision.note),
            round_consensus::decided_by.eq(decided_by),
            round_consensus::decided_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}
