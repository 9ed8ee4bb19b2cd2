//! Storage for suggestions. Every lookup goes through the study, so an id from another study is simply
//! not found. No HTTP here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rules::Status;
use crate::db::schema::{questionnaires, revisions, suggestions, users};
use crate::db::{now, DbConnection};
use crate::studies::comments::queries::OpenCounts;
use crate::studies::questionnaires::history::rules::{Action, ObjectType};

pub struct NewSuggestion<'a> {
    pub questionnaire_id: i64,
    pub object: ObjectType,
    pub object_id: i64,
    pub author_user_id: i64,
    /// The proposed content as a snapshot (the shape history keeps).
    pub proposed: &'a str,
    pub reason: &'a str,
    pub based_on_lock_version: i32,
}

pub fn insert(conn: &mut DbConnection, new: &NewSuggestion) -> QueryResult<i64> {
    diesel::insert_into(suggestions::table)
        .values((
            suggestions::questionnaire_id.eq(new.questionnaire_id),
            suggestions::object_type.eq(new.object.as_str()),
            suggestions::object_id.eq(new.object_id),
            suggestions::author_user_id.eq(new.author_user_id),
            suggestions::proposed.eq(new.proposed),
            suggestions::reason.eq(new.reason),
            suggestions::based_on_lock_version.eq(new.based_on_lock_version),
            suggestions::status.eq(Status::Open.as_str()),
            suggestions::decision_note.eq(""),
            suggestions::created_at.eq(now()),
        ))
        .returning(suggestions::id)
        .get_result(conn)
}

/// A stored suggestion with its suggester's display name.
#[derive(Debug, Clone, Queryable)]
pub struct Suggestion {
    pub id: i64,
    pub questionnaire_id: i64,
    pub object_type: String,
    pub object_id: i64,
    pub author_user_id: i64,
    pub author_name: String,
    pub proposed: String,
    pub reason: String,
    pub based_on_lock_version: i32,
    pub status: String,
    pub decided_by: Option<i64>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_note: String,
    pub created_at: NaiveDateTime,
}

type Columns = (
    suggestions::id,
    suggestions::questionnaire_id,
    suggestions::object_type,
    suggestions::object_id,
    suggestions::author_user_id,
    users::display_name,
    suggestions::proposed,
    suggestions::reason,
    suggestions::based_on_lock_version,
    suggestions::status,
    suggestions::decided_by,
    suggestions::decided_at,
    suggestions::decision_note,
    suggestions::created_at,
);

const COLUMNS: Columns = (
    suggestions::id,
    suggestions::questionnaire_id,
    suggestions::object_type,
    suggestions::object_id,
    suggestions::author_user_id,
    users::display_name,
    suggestions::proposed,
    suggestions::reason,
    suggestions::based_on_lock_version,
    suggestions::status,
    suggestions::decided_by,
    suggestions::decided_at,
    suggestions::decision_note,
    suggestions::created_at,
);

/// Every suggestion on one question or section, newest first, suggesters joined in: one query.
pub fn list(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    object: ObjectType,
    object_id: i64,
) -> QueryResult<Vec<Suggestion>> {
    suggestions::table
        .inner_join(users::table)
        .filter(suggestions::questionnaire_id.eq(questionnaire_id))
        .filter(suggestions::object_type.eq(object.as_str()))
        .filter(suggestions::object_id.eq(object_id))
        .order(suggestions::id.desc())
        .select(COLUMNS)
        .load(conn)
}

pub fn find(conn: &mut DbConnection, study_id: i64, id: i64) -> QueryResult<Option<Suggestion>> {
    suggestions::table
        .inner_join(users::table)
        .inner_join(questionnaires::table)
        .filter(suggestions::id.eq(id))
        .filter(questionnaires::study_id.eq(study_id))
        .select(COLUMNS)
        .first(conn)
        .optional()
}

/// Closes an open suggestion; false when it was no longer open (someone decided first).
pub fn decide(
    conn: &mut DbConnection,
    id: i64,
    status: Status,
    decided_by: i64,
    note: &str,
) -> QueryResult<bool> {
    diesel::update(
        suggestions::table
            .filter(suggestions::id.eq(id))
            .filter(suggestions::status.eq(Status::Open.as_str())),
    )
    .set((
        suggestions::status.eq(status.as_str()),
        suggestions::decided_by.eq(decided_by),
        suggestions::decided_at.eq(now()),
        suggestions::decision_note.eq(note.trim()),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Open suggestions per question and per section of a questionnaire, in one grouped query.
pub fn open_counts(conn: &mut DbConnection, questionnaire_id: i64) -> QueryResult<OpenCounts> {
    let rows: Vec<(String, i64, i64)> = suggestions::table
        .filter(suggestions::questionnaire_id.eq(questionnaire_id))
        .filter(suggestions::status.eq(Status::Open.as_str()))
        .group_by((suggestions::object_type, suggestions::object_id))
        .select((
            suggestions::object_type,
            suggestions::object_id,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let mut counts = OpenCounts::default();
    for (object_type, object_id, open) in rows {
        let of_kind = match ObjectType::parse(&object_type) {
            Some(ObjectType::Question) => &mut counts.questions,
            Some(ObjectType::Section) => &mut counts.sections,
            None => continue,
        };
        of_kind.insert(object_id, open);
    }
    Ok(counts)
}

/// Who wrote a question or section: the author of the revision that brought it into being (added, or
/// added as a copy). None when that person is unknown (made from the command line).
pub fn object_author(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    object: ObjectType,
    object_id: i64,
) -> QueryResult<Option<i64>> {
    let author: Option<Option<i64>> = revisions::table
        .filter(revisions::questionnaire_id.eq(questionnaire_id))
        .filter(revisions::object_type.eq(object.as_str()))
        .filter(revisions::object_id.eq(object_id))
        .filter(revisions::action.eq_any([Action::Created.as_str(), Action::Duplicated.as_str()]))
        .order(revisions::id.asc())
        .select(revisions::author_user_id)
        .first(conn)
        .optional()?;
    Ok(author.flatten())
}
