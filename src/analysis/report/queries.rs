//! Storage for the report: who agreed to quotes, quote approvals, and the interviews' method facts.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rules::agreed_to_quotes;
use crate::db::schema::{codings, consent_records, interviews, responses};
use crate::db::{now, DbConnection};
use crate::responses::rules::StatementAnswer;

/// Per sent response: whether its participant agreed to quotes in their latest consent record and
/// has not withdrawn. Responses anonymised at sending have no record left, so are never quoted.
pub fn quote_consent(conn: &mut DbConnection, study_id: i64) -> QueryResult<HashMap<i64, bool>> {
    let rows: Vec<(i64, i32, String, String, Option<NaiveDateTime>)> = responses::table
        .inner_join(
            consent_records::table.on(consent_records::participation_id
                .nullable()
                .eq(responses::participation_id)),
        )
        .filter(responses::study_id.eq(study_id))
        .select((
            responses::id,
            consent_records::revision,
            consent_records::decision,
            consent_records::statements,
            consent_records::withdrawn_at,
        ))
        .load(conn)?;
    let mut latest: HashMap<i64, (i32, bool)> = HashMap::new();
    for (response, revision, decision, statements, withdrawn) in rows {
        let agreed = decision == "consented"
            && withdrawn.is_none()
            && serde_json::from_str::<Vec<StatementAnswer>>(&statements)
                .is_ok_and(|s| agreed_to_quotes(&s));
        let entry = latest.entry(response).or_insert((revision, agreed));
        if revision >= entry.0 {
            *entry = (revision, agreed);
        }
    }
    Ok(latest
        .into_iter()
        .map(|(k, (_, agreed))| (k, agreed))
        .collect())
}

/// Approves a study coding for quoting in shared reports, or takes the approval back.
pub fn set_approval(
    conn: &mut DbConnection,
    coding_id: i64,
    approved_by: Option<i64>,
) -> QueryResult<usize> {
    diesel::update(codings::table.find(coding_id))
        .set((
            codings::quote_approved_by.eq(approved_by),
            codings::quote_approved_at.eq(approved_by.map(|_| now())),
        ))
        .execute(conn)
}

/// mode, started, ended, paused seconds, field notes.
type InterviewRow = (
    String,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    i32,
    String,
);

/// The study's completed interviews: mode, minutes (pauses left out) and field notes (JSON).
pub fn completed_interviews(
    conn: &mut DbConnection,
    study_id: i64,
) -> QueryResult<Vec<(String, Option<i64>, String)>> {
    let rows: Vec<InterviewRow> = interviews::table
        .filter(interviews::study_id.eq(study_id))
        .filter(interviews::status.eq("completed"))
        .select((
            interviews::mode,
            interviews::started_at,
            interviews::ended_at,
            interviews::paused_seconds,
            interviews::field_notes,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(mode, started, ended, paused, notes)| {
            let minutes = started
                .zip(ended)
                .map(|(s, e)| ((e - s).num_seconds() - i64::from(paused)).max(0) / 60);
            (mode, minutes, notes)
        })
        .collect())
}
