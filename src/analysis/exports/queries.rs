//! Storage for exports: a questionnaire's published versions, and its responses with their answers in
//! two queries however many there are. Pseudonymous codes only: identities are never read. No HTTP.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{ExportAnswer, ExportResponse};
use crate::db::schema::{answers, participants, questionnaire_versions, questionnaires, responses};
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

/// The selected responses in id order, each with its answers: one query for the responses and one for
/// all their answers.
pub fn responses_with_answers(
    conn: &mut DbConnection,
    selection: Selection,
) -> QueryResult<Vec<(ExportResponse, Vec<ExportAnswer>)>> {
    let mut query = responses::table
        .left_join(
            participants::table.on(participants::id.nullable().eq(responses::participant_id)),
        )
        .filter(responses::study_id.eq(selection.study_id))
        .filter(responses::questionnaire_id.eq(selection.questionnaire_id))
        .into_boxed();
    if let Some(version) = selection.version_id {
        query = query.filter(responses::version_id.eq(version));
    }
    if !selection.in_progress {
        query = query.filter(responses::submitted_at.is_not_null());
    }
    let rows: Vec<ResponseRow> = query
        .order(responses::id.asc())
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

    let mut answer_query = answers::table
        .inner_join(responses::table)
        .filter(responses::study_id.eq(selection.study_id))
        .filter(responses::questionnaire_id.eq(selection.questionnaire_id))
        .into_boxed();
    if let Some(version) = selection.version_id {
        answer_query = answer_query.filter(responses::version_id.eq(version));
    }
    if !selection.in_progress {
        answer_query = answer_query.filter(responses::submitted_at.is_not_null());
    }
    let mut by_response: HashMap<i64, Vec<ExportAnswer>> = HashMap::new();
    for (response_id, question_id, value, skipped, notes, status) in answer_query
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
