//! Storage for memos, and what a memo can be about: the study's codes, its coded passages (the
//! study's coding, never a double-coding round's) and its sent responses.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{count_key, Subject};
use crate::db::schema::{memos, users};
use crate::db::{now, DbConnection};

/// A memo as stored, with its author's name.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct Memo {
    pub id: i64,
    #[serde(skip)]
    pub study_id: i64,
    /// study, code, coding or response.
    pub subject: String,
    /// The code's, coding's or response's id; null for the study.
    pub subject_id: Option<i64>,
    pub body: String,
    pub author_id: i64,
    /// The author's name as the team knows them.
    pub author: String,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
}

type MemoColumns = (
    memos::id,
    memos::study_id,
    memos::subject,
    memos::subject_id,
    memos::body,
    memos::author_id,
    users::display_name,
    memos::created_at,
    memos::updated_at,
);

const MEMO_COLUMNS: MemoColumns = (
    memos::id,
    memos::study_id,
    memos::subject,
    memos::subject_id,
    memos::body,
    memos::author_id,
    users::display_name,
    memos::created_at,
    memos::updated_at,
);

/// The study's memos, oldest first; only those about one subject (or one thing) when asked.
pub fn memos_of(
    conn: &mut DbConnection,
    study_id: i64,
    subject: Option<Subject>,
    subject_id: Option<i64>,
) -> QueryResult<Vec<Memo>> {
    let mut query = memos::table
        .inner_join(users::table.on(users::id.eq(memos::author_id)))
        .filter(memos::study_id.eq(study_id))
        .into_boxed();
    if let Some(subject) = subject {
        query = query.filter(memos::subject.eq(subject.as_str()));
    }
    if let Some(id) = subject_id {
        query = query.filter(memos::subject_id.eq(id));
    }
    query
        .order((memos::created_at, memos::id))
        .select(MEMO_COLUMNS)
        .load(conn)
}

pub fn memo(conn: &mut DbConnection, study_id: i64, memo_id: i64) -> QueryResult<Option<Memo>> {
    memos::table
        .inner_join(users::table.on(users::id.eq(memos::author_id)))
        .filter(memos::study_id.eq(study_id))
        .filter(memos::id.eq(memo_id))
        .select(MEMO_COLUMNS)
        .first(conn)
        .optional()
}

pub fn insert_memo(
    conn: &mut DbConnection,
    study_id: i64,
    (subject, subject_id): (Subject, Option<i64>),
    body: &str,
    author_id: i64,
) -> QueryResult<i64> {
    let at = now();
    diesel::insert_into(memos::table)
        .values((
            memos::study_id.eq(study_id),
            memos::subject.eq(subject.as_str()),
            memos::subject_id.eq(subject_id),
            memos::body.eq(body),
            memos::author_id.eq(author_id),
            memos::created_at.eq(at),
            memos::updated_at.eq(at),
        ))
        .returning(memos::id)
        .get_result(conn)
}

pub fn update_memo(conn: &mut DbConnection, memo_id: i64, body: &str) -> QueryResult<usize> {
    diesel::update(memos::table.find(memo_id))
        .set((memos::body.eq(body), memos::updated_at.eq(now())))
        .execute(conn)
}

pub fn delete_memo(conn: &mut DbConnection, memo_id: i64) -> QueryResult<usize> {
    diesel::delete(memos::table.find(memo_id)).execute(conn)
}

/// How many memos there are about each thing of the study, keyed `code-5`, `coding-12`,
/// `response-3` (the study's own memos are not counted). One query.
pub fn counts(conn: &mut DbConnection, study_id: i64) -> QueryResult<HashMap<String, i64>> {
    Ok(memos::table
        .filter(memos::study_id.eq(study_id))
        .filter(memos::subject_id.is_not_null())
        .group_by((memos::subject, memos::subject_id))
        .select((memos::subject, memos::subject_id, count_star()))
        .load::<(String, Option<i64>, i64)>(conn)?
        .into_iter()
        .filter_map(|(subject, id, n)| Some((count_key(&subject, id?), n)))
        .collect())
}
