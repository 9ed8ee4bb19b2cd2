//! Storage for exports: a questionnaire's published versions, and its responses with their answers in
//! two queries a page however many there are; the pages of the coding exports. Pseudonymous codes
//! only: identities are never read. No HTTP.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{Answered, ExportAnswer, ExportResponse};
use crate::db::schema::{
    answers, codings, participants, questionnaire_versions, questionnaires, responses,
};
use crate::db::DbConnection;

/// A questionnaire with published versions, for the export form.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Exportable {
    pub id: i64,
    pub title: String,
    /// Newest first.
    pub versions: Vec<PublishedVersion>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublishedVersion {
    pub id: i64,
    pub number: i32,
    #[serde(with = "crate::db::utc")]
    pub published_at: NaiveDateTime,
}

/// The study's questionnaires that have at least one published version, in the order they were made.
pub fn exportable(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<Exportable>> {
    let rows: Vec<(i64, String, i64, i32, NaiveDateTime)> = questionnaires::table
        .inner_join(questionnaire_versions::table)
        .filter(questionnaires::study_id.eq(study_id))
        .order((
            questionnaires::id.asc(),
            questionnaire_versions::version_number.desc(),
        ))
        .select((
            questionnaires::id,
            questionnaires::title,
            questionnaire_versions::id,
            questionnaire_versions::version_number,
            questionnaire_versions::published_at,
        ))
        .load(conn)?;
    let mut out: Vec<Exportable> = Vec::new();
    for (id, title, version_id, number, published_at) in rows {
        if out.last().is_none_or(|q| q.id != id) {
            out.push(Exportable {
                id,
                title,
                versions: Vec::new(),
            });
        }
        out.last_mut()
            .expect("pushed above")
            .versions
            .push(PublishedVersion {
                id: version_id,
                number,
                published_at,
            });
    }
    Ok(out)
}

/// A published version with its frozen snapshot (JSON text), oldest first.
pub struct StoredVersion {
    pub id: i64,
    pub number: i32,
    pub published_at: NaiveDateTime,
    pub snapshot: String,
}

pub fn versions_with_snapshots(
    conn: &mut DbConnection,
    questionnaire_id: i64,
) -> QueryResult<Vec<StoredVersion>> {
    questionnaire_versions::table
        .filter(questionnaire_versions::questionnaire_id.eq(questionnaire_id))
        .order(questionnaire_versions::version_number.asc())
        .select((
            questionnaire_versions::id,
            questionnaire_versions::version_number,
            questionnaire_versions::published_at,
            questionnaire_versions::snapshot,
        ))
        .load::<(i64, i32, NaiveDateTime, String)>(conn)
        .map(|rows| {
            rows.into_iter()
                .map(|(id, number, published_at, snapshot)| StoredVersion {
                    id,
                    number,
                    published_at,
                    snapshot,
                })
                .collect()
        })
}

/// Which responses an export holds.
#[derive(Debug, Clone, Copy)]
pub struct Selection {
    pub study_id: i64,
    pub questionnaire_id: i64,
    pub version_id: Option<i64>,
    /// Responses not sent yet too.
    pub in_progress: bool,
}

type ResponseRow = (
    i64,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    i64,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

/// Some responses in id order: those after the id `after`, at most `limit` of them.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub after: i64,
    pub limit: i64,
}

impl Page {
    pub const ALL: Page = Page {
        after: i64::MIN,
        limit: i64::MAX,
    };
}

/// The selection's filters on a query over `responses`.
macro_rules! selected {
    ($query:expr, $selection:expr) => {{
        let selection: Selection = $selection;
        let mut query = $query
            .filter(responses::study_id.eq(selection.study_id))
            .filter(responses::questionnaire_id.eq(selection.questionnaire_id))
            .into_boxed();
        if let Some(version) = selection.version_id {
            query = query.filter(responses::version_id.eq(version));
        }
        if !selection.in_progress {
            query = query.filter(responses::submitted_at.is_not_null());
        }
        query
    }};
}

/// How many responses the selection holds.
pub fn count_responses(conn: &mut DbConnection, selection: Selection) -> QueryResult<i64> {
    selected!(responses::table, selection)
        .count()
        .get_result(conn)
}

/// A page of the selected responses in id order, each with its answers: one query for the responses
/// and one for all their answers.
pub fn responses_with_answers(
    conn: &mut DbConnection,
    selection: Selection,
    page: Page,
) -> QueryResult<Vec<Answered>> {
    let rows: Vec<ResponseRow> = selected!(
        responses::table.left_join(
            participants::table.on(participants::id.nullable().eq(responses::participant_id)),
        ),
        selection
    )
    .filter(responses::id.gt(page.after))
    .order(responses::id.asc())
    .limit(page.limit)
    .select((
        responses::id,
        participants::code.nullable(),
        responses::participant_group,
        responses::service_area,
        responses::system_level,
        responses::mode,
        responses::audience,
        responses::version_id,
        responses::started_at,
        responses::submitted_at,
    ))
    .load(conn)?;
    let Some(last) = rows.last().map(|r| r.0) else {
        return Ok(Vec::new());
    };

    let mut by_response: HashMap<i64, Vec<ExportAnswer>> = HashMap::new();
    for (response_id, question_id, value, skipped, notes, status) in
        selected!(answers::table.inner_join(responses::table), selection)
            .filter(responses::id.gt(page.after))
            .filter(responses::id.le(last))
            .order((answers::response_id.asc(), answers::question_id.asc()))
            .select((
                answers::response_id,
                answers::question_id,
                answers::value,
                answers::skipped,
                answers::notes,
                answers::status,
            ))
            .load::<(i64, i64, String, bool, String, String)>(conn)?
    {
        by_response
            .entry(response_id)
            .or_default()
            .push(ExportAnswer {
                question_id,
                value,
                skipped,
                notes,
                status,
            });
    }
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                code,
                group,
                service,
                level,
                mode,
                audience,
                version_id,
                started_at,
                submitted_at,
            )| {
                (
                    ExportResponse {
                        id,
                        code,
                        group,
                        service,
                        level,
                        mode,
                        audience,
                        version_id,
                        started_at,
                        submitted_at,
                    },
                    by_response.remove(&id).unwrap_or_default(),
                )
            },
        )
        .collect())
}

/// The questions some selected answer has notes for (perhaps only blanks).
pub fn questions_noted(conn: &mut DbConnection, selection: Selection) -> QueryResult<Vec<i64>> {
    selected!(answers::table.inner_join(responses::table), selection)
        .filter(answers::notes.ne(""))
        .select(answers::question_id)
        .distinct()
        .order(answers::question_id)
        .load(conn)
}

/// A page of the notes selected answers have for a question.
pub fn notes_of_question(
    conn: &mut DbConnection,
    selection: Selection,
    question_id: i64,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<String>> {
    selected!(answers::table.inner_join(responses::table), selection)
        .filter(answers::question_id.eq(question_id))
        .filter(answers::notes.ne(""))
        .order(answers::id)
        .offset(offset)
        .limit(limit)
        .select(answers::notes)
        .load(conn)
}

/// The study's next sent responses after the id `after`, at most `limit`: a page of documents.
pub fn sent_responses_after(
    conn: &mut DbConnection,
    study_id: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    responses::table
        .filter(responses::study_id.eq(study_id))
        .filter(responses::submitted_at.is_not_null())
        .filter(responses::id.gt(after))
        .order(responses::id)
        .limit(limit)
        .select(responses::id)
        .load(conn)
}

/// The next answers after the id `after` that the study's coding (not rounds') has passages in, at
/// most `limit`: a page of coded passages.
pub fn coded_answers_after(
    conn: &mut DbConnection,
    study_id: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    codings::table
        .filter(codings::study_id.eq(study_id))
        .filter(codings::round_id.is_null())
        .filter(codings::answer_id.gt(after))
        .select(codings::answer_id)
        .distinct()
        .order(codings::answer_id)
        .limit(limit)
        .load(conn)
}

/// How many passages the study's coding (not rounds') has.
pub fn count_codings(conn: &mut DbConnection, study_id: i64) -> QueryResult<i64> {
    codings::table
        .filter(codings::study_id.eq(study_id))
        .filter(codings::round_id.is_null())
        .count()
        .get_result(conn)
}

/// The study's coders in the order of their first passage, passages ordered as the exports list
/// them (answer, first character, id): one query per coder, not one row per passage.
pub fn coders_in_order(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<i64>> {
    let study = || {
        codings::table
            .filter(codings::study_id.eq(study_id))
            .filter(codings::round_id.is_null())
    };
    let coders: Vec<i64> = study().select(codings::coder_id).distinct().load(conn)?;
    let mut firsts = Vec::new();
    for coder in coders {
        let first: (i64, i32, i64) = study()
            .filter(codings::coder_id.eq(coder))
            .order((codings::answer_id, codings::start_char, codings::id))
            .select((codings::answer_id, codings::start_char, codings::id))
            .first(conn)?;
        firsts.push((first, coder));
    }
    firsts.sort_unstable();
    Ok(firsts.into_iter().map(|(_, coder)| coder).collect())
}
