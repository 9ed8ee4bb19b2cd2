//! Storage for belief statements and the coded passages linked to them.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{belief_passages, beliefs, codings};
use crate::db::{now, on_backend, DbConnection};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = beliefs)]
pub struct Belief {
    pub id: i64,
    #[serde(skip)]
    pub study_id: i64,
    /// The code it is about, as chosen (a merged code stands for the code it went into).
    pub code_id: i64,
    pub statement: String,
    pub created_by: i64,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
}

pub fn beliefs_of(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<Belief>> {
    beliefs::table
        .filter(beliefs::study_id.eq(study_id))
        .order(beliefs::id)
        .select(Belief::as_select())
        .load(conn)
}

pub fn belief(
    conn: &mut DbConnection,
    study_id: i64,
    belief_id: i64,
) -> QueryResult<Option<Belief>> {
    beliefs::table
        .filter(beliefs::study_id.eq(study_id))
        .filter(beliefs::id.eq(belief_id))
        .select(Belief::as_select())
        .first(conn)
        .optional()
}

pub fn insert_belief(
    conn: &mut DbConnection,
    study_id: i64,
    code_id: i64,
    statement: &str,
    created_by: i64,
) -> QueryResult<i64> {
    let at = now();
    diesel::insert_into(beliefs::table)
        .values((
            beliefs::study_id.eq(study_id),
            beliefs::code_id.eq(code_id),
            beliefs::statement.eq(statement),
            beliefs::created_by.eq(created_by),
            beliefs::created_at.eq(at),
            beliefs::updated_at.eq(at),
        ))
        .returning(beliefs::id)
        .get_result(conn)
}

pub fn update_belief(
    conn: &mut DbConnection,
    belief_id: i64,
    statement: &str,
) -> QueryResult<usize> {
    diesel::update(beliefs::table.find(belief_id))
        .set((
            beliefs::statement.eq(statement),
            beliefs::updated_at.eq(now()),
        ))
        .execute(conn)
}

pub fn delete_belief(conn: &mut DbConnection, belief_id: i64) -> QueryResult<usize> {
    diesel::delete(beliefs::table.find(belief_id)).execute(conn)
}

/// Links the belief to exactly these passages.
pub fn set_passages(
    conn: &mut DbConnection,
    belief_id: i64,
    coding_ids: &[i64],
) -> QueryResult<()> {
    diesel::delete(belief_passages::table.filter(belief_passages::belief_id.eq(belief_id)))
        .execute(conn)?;
    let rows: Vec<_> = coding_ids
        .iter()
        .map(|&coding| {
            (
                belief_passages::belief_id.eq(belief_id),
                belief_passages::coding_id.eq(coding),
            )
        })
        .collect();
    for chunk in rows.chunks(500) {
        on_backend!(conn, |c| diesel::insert_into(belief_passages::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Every link of the study's beliefs to a passage of the study's coding: (belief, coding).
pub fn links(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<(i64, i64)>> {
    belief_passages::table
        .inner_join(beliefs::table)
        .inner_join(codings::table)
        .filter(beliefs::study_id.eq(study_id))
        .filter(codings::round_id.is_null())
        .select((belief_passages::belief_id, belief_passages::coding_id))
        .load(conn)
}
