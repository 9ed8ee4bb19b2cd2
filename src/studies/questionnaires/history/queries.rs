//! Storage for revisions. No HTTP here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rules::{Action, ObjectType};
use crate::audit::Origin;
use crate::db::schema::{revisions, users};
use crate::db::{now, DbConnection};

/// One change to record, in the transaction that makes it.
pub struct Change<'a> {
    pub object: ObjectType,
    pub object_id: i64,
    pub questionnaire_id: i64,
    pub action: Action,
    pub reason: &'a str,
    pub before: Option<String>,
    pub after: Option<String>,
}

pub fn record(conn: &mut DbConnection, origin: &Origin, change: Change) -> QueryResult<()> {
    diesel::insert_into(revisions::table)
        .values((
            revisions::object_type.eq(change.object.as_str()),
            revisions::object_id.eq(change.object_id),
            revisions::questionnaire_id.eq(change.questionnaire_id),
            revisions::author_user_id.eq(origin.user_id),
            revisions::created_at.eq(now()),
            revisions::reason.eq(change.reason.trim()),
            revisions::action.eq(change.action.as_str()),
            revisions::before.eq(change.before),
            revisions::after.eq(change.after),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A stored revision with its author's display name.
#[derive(Debug, Clone, Queryable)]
pub struct Revision {
    pub id: i64,
    pub object_type: String,
    pub object_id: i64,
    pub questionnaire_id: i64,
    pub author_user_id: Option<i64>,
    pub author_name: Option<String>,
    pub created_at: NaiveDateTime,
    pub reason: String,
    pub action: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

type Columns = (
    revisions::id,
    revisions::object_type,
    revisions::object_id,
    revisions::questionnaire_id,
    revisions::author_user_id,
    diesel::dsl::Nullable<users::display_name>,
    revisions::created_at,
    revisions::reason,
    revisions::action,
    revisions::before,
    revisions::after,
);

fn columns() -> Columns {
    (
        revisions::id,
        revisions::object_type,
        revisions::object_id,
        revisions::questionnaire_id,
        revisions::author_user_id,
        users::display_name.nullable(),
        revisions::created_at,
        revisions::reason,
        revisions::action,
        revisions::before,
        revisions::after,
    )
}

/// An object's whole history, newest first, authors joined in: one query whatever its length.
pub fn list(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    object: ObjectType,
    object_id: i64,
) -> QueryResult<Vec<Revision>> {
    revisions::table
        .left_join(users::table)
        .filter(revisions::questionnaire_id.eq(questionnaire_id))
        .filter(revisions::object_type.eq(object.as_str()))
        .filter(revisions::object_id.eq(object_id))
        .order(revisions::id.desc())
        .select(columns())
        .load(conn)
}

pub fn find(
    conn: &mut DbConnection,
    questionnaire_id: i64,
    object: ObjectType,
    object_id: i64,
    id: i64,
) -> QueryResult<Option<Revision>> {
    revisions::table
        .left_join(users::table)
        .filter(revisions::questionnaire_id.eq(questionnaire_id))
        .filter(revisions::object_type.eq(object.as_str()))
        .filter(revisions::object_id.eq(object_id))
        .filter(revisions::id.eq(id))
        .select(columns())
        .first(conn)
        .optional()
}
