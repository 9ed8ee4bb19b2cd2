//! Storage for comment threads. Every lookup goes through the study, so an id from another study is
//! simply not found. No HTTP here.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::ObjectType;
use crate::db::schema::{comments, questionnaires, questions, sections, users};
use crate::db::{now, DbConnection};
use crate::studies::questionnaires::queries::Questionnaire;

diesel::alias!(users as resolvers: Resolvers);

/// A question or section that people comment on, with what to call it on its discussion page.
#[derive(Debug, Clone, Serialize)]
pub struct Commented {
    pub object_type: ObjectType,
    pub object_id: i64,
    /// The question's text or the section's title.
    pub label: String,
    pub questionnaire: Questionnaire,
}

impl Commented {
    pub fn page_url(&self) -> String {
        format!(
            "/studies/{}/{}/{}/comments",
            self.questionnaire.study_id,
            self.object_type.plural(),
            self.object_id
        )
    }
}

pub fn find_object(
    conn: &mut DbConnection,
    study_id: i64,
    object_type: ObjectType,
    object_id: i64,
) -> QueryResult<Option<Commented>> {
    let found: Option<(String, Questionnaire)> = match object_type {
        ObjectType::Question => questions::table
            .inner_join(sections::table.inner_join(questionnaires::table))
            .filter(questions::id.eq(object_id))
            .filter(questionnaires::study_id.eq(study_id))
            .select((questions::text, Questionnaire::as_select()))
            .first(conn)
            .optional()?,
        ObjectType::Section => sections::table
            .inner_join(questionnaires::table)
            .filter(sections::id.eq(object_id))
            .filter(questionnaires::study_id.eq(study_id))
            .select((sections::title, Questionnaire::as_select()))
            .first(conn)
            .optional()?,
    };
    Ok(found.map(|(label, questionnaire)| Commented {
        object_type,
        object_id,
        label,
        questionnaire,
    }))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Comment {
    pub id: i64,
    pub author_user_id: i64,
    pub author_name: String,
    /// Plain text; line breaks are part of it.
    pub body: String,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
}

/// A thread: its first comment, the replies in order, and whether (and by whom) it was resolved.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Thread {
    /// The first comment's id.
    pub id: i64,
    pub questionnaire_id: i64,
    pub object_type: ObjectType,
    pub object_id: i64,
    pub opening: Comment,
    pub replies: Vec<Comment>,
    #[serde(with = "crate::db::utc::option")]
    pub resolved_at: Option<NaiveDateTime>,
    pub resolved_by: Option<i64>,
    pub resolved_by_name: Option<String>,
}

type Row = (
    i64,
    Option<i64>,
    i64,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
    Option<i64>,
    Option<String>,
);

/// The threads on one question or section, open ones first, each group oldest first: one query.
pub fn threads(conn: &mut DbConnection, object: &Commented) -> QueryResult<Vec<Thread>> {
    let rows: Vec<Row> = comments::table
        .inner_join(users::table)
        .left_join(resolvers.on(comments::resolved_by.eq(resolvers.field(users::id).nullable())))
        .filter(comments::questionnaire_id.eq(object.questionnaire.id))
        .filter(comments::object_type.eq(object.object_type.as_str()))
        .filter(comments::object_id.eq(object.object_id))
        .order(comments::id.asc())
        .select((
            comments::id,
            comments::parent_id,
            comments::author_user_id,
            users::display_name,
            comments::body,
            comments::created_at,
            comments::resolved_at,
            comments::resolved_by,
            resolvers.field(users::display_name).nullable(),
        ))
        .load(conn)?;
    let mut threads: Vec<Thread> = Vec::new();
    let mut replies: HashMap<i64, Vec<Comment>> = HashMap::new();
    for (
        id,
        parent_id,
        author_user_id,
        author_name,
        body,
        created_at,
        resolved_at,
        resolved_by,
        resolved_by_name,
    ) in rows
    {
        let comment = Comment {
            id,
            author_user_id,
            author_name,
            body,
            created_at,
        };
        match parent_id {
            Some(parent) => replies.entry(parent).or_default().push(comment),
            None => threads.push(Thread {
                id,
                questionnaire_id: object.questionnaire.id,
                object_type: object.object_type,
                object_id: object.object_id,
                opening: comment,
                replies: Vec::new(),
                resolved_at,
                resolved_by,
                resolved_by_name,
            }),
        }
    }
    for thread in &mut threads {
        thread.replies = replies.remove(&thread.id).unwrap_or_default();
    }
    // Stable: within each group the order stays oldest first.
    threads.sort_by_key(|thread| thread.resolved_at.is_some());
    Ok(threads)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = comments)]
struct ThreadHeadRow {
    id: i64,
    questionnaire_id: i64,
    object_type: String,
    object_id: i64,
    author_user_id: i64,
    resolved_at: Option<NaiveDateTime>,
}

/// A thread's first comment, enough to reply to it or change its state.
#[derive(Debug, Clone)]
pub struct ThreadHead {
    pub id: i64,
    pub questionnaire_id: i64,
    pub object_type: ObjectType,
    pub object_id: i64,
    pub author_user_id: i64,
    pub resolved_at: Option<NaiveDateTime>,
}

pub fn find_thread(
    conn: &mut DbConnection,
    study_id: i64,
    thread_id: i64,
) -> QueryResult<Option<ThreadHead>> {
    let row: Option<ThreadHeadRow> = comments::table
        .inner_join(questionnaires::table)
        .filter(comments::id.eq(thread_id))
        .filter(comments::parent_id.is_null())
        .filter(questionnaires::study_id.eq(study_id))
        .select(ThreadHeadRow::as_select())
        .first(conn)
        .optional()?;
    // The table's CHECK allows only the two object types, so a row that does not parse cannot exist.
    Ok(row.and_then(|row| {
        Some(ThreadHead {
            object_type: ObjectType::parse(&row.object_type)?,
            id: row.id,
            questionnaire_id: row.questionnaire_id,
            object_id: row.object_id,
            author_user_id: row.author_user_id,
            resolved_at: row.resolved_at,
        })
    }))
}

/// Open threads per question and per section of a questionnaire, in one grouped query.
#[derive(Debug, Default, Serialize)]
pub struct OpenCounts {
    pub questions: HashMap<i64, i64>,
    pub sections: HashMap<i64, i64>,
}

pub fn open_counts(conn: &mut DbConnection, questionnaire_id: i64) -> QueryResult<OpenCounts> {
    let rows: Vec<(String, i64, i64)> = comments::table
        .filter(comments::questionnaire_id.eq(questionnaire_id))
        .filter(comments::parent_id.is_null())
        .filter(comments::resolved_at.is_null())
        .group_by((comments::object_type, comments::object_id))
        .select((
            comments::object_type,
            comments::object_id,
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

pub struct NewComment<'a> {
    pub questionnaire_id: i64,
    pub object_type: ObjectType,
    pub object_id: i64,
    pub parent_id: Option<i64>,
    pub author_user_id: i64,
    pub body: &'a str,
}

pub fn insert_comment(conn: &mut DbConnection, new: &NewComment) -> QueryResult<i64> {
    diesel::insert_into(comments::table)
        .values((
            comments::questionnaire_id.eq(new.questionnaire_id),
            comments::object_type.eq(new.object_type.as_str()),
            comments::object_id.eq(new.object_id),
            comments::parent_id.eq(new.parent_id),
            comments::author_user_id.eq(new.author_user_id),
            comments::body.eq(new.body),
            comments::created_at.eq(now()),
        ))
        .returning(comments::id)
        .get_result(conn)
}

/// Resolves (with who did it) or reopens (None) a thread; false when it already was in that state, so a
/// double click records one change.
pub fn set_resolved(
    conn: &mut DbConnection,
    thread_id: i64,
    resolved_by: Option<i64>,
) -> QueryResult<bool> {
    let thread = comments::table
        .filter(comments::id.eq(thread_id))
        .filter(comments::parent_id.is_null());
    let changed = match resolved_by {
        Some(user_id) => diesel::update(thread.filter(comments::resolved_at.is_null()))
            .set((
                comments::resolved_at.eq(Some(now())),
                comments::resolved_by.eq(Some(user_id)),
            ))
            .execute(conn)?,
        None => diesel::update(thread.filter(comments::resolved_at.is_not_null()))
            .set((
                comments::resolved_at.eq(None::<NaiveDateTime>),
                comments::resolved_by.eq(None::<i64>),
            ))
            .execute(conn)?,
    };
    Ok(changed == 1)
}
