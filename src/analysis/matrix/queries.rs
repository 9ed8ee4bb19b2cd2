//! Storage for the framework matrix: every coded passage of a study with what the matrix groups it
//! by (one query), and the matrix's written summaries. No HTTP here.

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::schema::{answers, codings, matrix_summaries, participants, responses};
use crate::db::{now, DbConnection};

/// A coded passage with its response's pseudonymous attributes.
#[derive(Debug, Clone, Queryable)]
pub struct CodedRow {
    pub coding_id: i64,
    pub answer_id: i64,
    pub response_id: i64,
    pub question_id: i64,
    pub version_id: i64,
    pub group: String,
    pub service: String,
    pub level: String,
    pub participant_code: Option<String>,
    pub code_id: i64,
    pub valence: String,
    pub field: String,
    pub quote: String,
    pub quote_approved_at: Option<chrono::NaiveDateTime>,
}

/// The study's coded passages (never a round's), all of them or those among `only`, in reading
/// order: by response, answer and place.
pub fn coded_rows(
    conn: &mut DbConnection,
    study_id: i64,
    only: Option<&[i64]>,
) -> QueryResult<Vec<CodedRow>> {
    let mut query = codings::table
        .inner_join(answers::table.inner_join(responses::table))
        .left_join(
            participants::table.on(participants::id.nullable().eq(responses::participant_id)),
        )
        .filter(codings::study_id.eq(study_id))
        .filter(codings::round_id.is_null())
        .into_boxed();
    if let Some(ids) = only {
        query = query.filter(codings::id.eq_any(ids));
    }
    query
        .order((
            answers::response_id,
            codings::answer_id,
            codings::start_char,
            codings::id,
        ))
        .select((
            codings::id,
            codings::answer_id,
            answers::response_id,
            answers::question_id,
            responses::version_id,
            responses::participant_group,
            responses::service_area,
            responses::system_level,
            participants::code.nullable(),
            codings::code_id,
            codings::valence,
            codings::field,
            codings::quote,
            codings::quote_approved_at,
        ))
        .load(conn)
}

/// A written summary of one matrix cell.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct Summary {
    pub row_key: String,
    pub column_key: String,
    pub body: String,
}

pub fn summaries(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<Summary>> {
    matrix_summaries::table
        .filter(matrix_summaries::study_id.eq(study_id))
        .select((
            matrix_summaries::row_key,
            matrix_summaries::column_key,
            matrix_summaries::body,
        ))
        .load(conn)
}

/// Writes a cell's summary; an empty one removes it.
pub fn save_summary(
    conn: &mut DbConnection,
    study_id: i64,
    row_key: &str,
    column_key: &str,
    body: &str,
    user_id: i64,
) -> QueryResult<()> {
    let cell = matrix_summaries::table
        .filter(matrix_summaries::study_id.eq(study_id))
        .filter(matrix_summaries::row_key.eq(row_key))
        .filter(matrix_summaries::column_key.eq(column_key));
    if body.is_empty() {
        diesel::delete(cell).execute(conn)?;
        return Ok(());
    }
    let changed = diesel::update(cell)
        .set((
            matrix_summaries::body.eq(body),
            matrix_summaries::updated_by.eq(user_id),
            matrix_summaries::updated_at.eq(now()),
        ))
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(matrix_summaries::table)
            .values((
                matrix_summaries::study_id.eq(study_id),
                matrix_summaries::row_key.eq(row_key),
                matrix_summaries::column_key.eq(column_key),
                matrix_summaries::body.eq(body),
                matrix_summaries::updated_by.eq(user_id),
                matrix_summaries::updated_at.eq(now()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The published versions among `ids`: (id, version number, questionnaire title).
pub fn versions(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<Vec<(i64, i32, String)>> {
    use crate::db::schema::{questionnaire_versions, questionnaires};
    questionnaire_versions::table
        .inner_join(questionnaires::table)
        .filter(questionnaire_versions::id.eq_any(ids))
        .order((
            questionnaires::title,
            questionnaire_versions::version_number,
        ))
        .select((
            questionnaire_versions::id,
            questionnaire_versions::version_number,
            questionnaires::title,
        ))
        .load(conn)
}
