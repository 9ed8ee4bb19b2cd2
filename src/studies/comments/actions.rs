//! What comment actions do, for pages and the JSON API alike: checked against the rules and saved in one
//! transaction with their audit event. The audit log is append-only, so it names the comment and never
//! copies what someone wrote.

use serde_json::json;

use super::queries::{self, Commented, NewComment, Thread, ThreadHead};
use super::rules::{self, ObjectType};
use crate::audit::{self, Origin};
use crate::db::Db;
use crate::error::AppError;
use crate::studies::access::StudyAccess;

/// The question or section, if it is in this study.
pub async fn object(
    db: &Db,
    study_id: i64,
    object_type: ObjectType,
    object_id: i64,
) -> Result<Commented, AppError> {
    db.read(move |conn| {
        queries::find_object(conn, study_id, object_type, object_id).map_err(AppError::from)
    })
    .await?
    .ok_or(AppError::NotFound)
}

/// The thread, if it is in this study.
pub async fn thread_head(db: &Db, study_id: i64, thread_id: i64) -> Result<ThreadHead, AppError> {
    db.read(move |conn| queries::find_thread(conn, study_id, thread_id).map_err(AppError::from))
        .await?
        .ok_or(AppError::NotFound)
}

/// The question or section a thread is about.
pub async fn object_of(db: &Db, study_id: i64, head: &ThreadHead) -> Result<Commented, AppError> {
    object(db, study_id, head.object_type, head.object_id).await
}

pub async fn threads(db: &Db, object: &Commented) -> Result<Vec<Thread>, AppError> {
    let object = object.clone();
    db.read(move |conn| queries::threads(conn, &object).map_err(AppError::from))
        .await
}

/// Starts a thread; returns its id.
pub async fn start_thread(
    db: &Db,
    origin: &Origin,
    access: &StudyAccess,
    object: &Commented,
    body: &str,
) -> Result<i64, AppError> {
    let body = rules::check_body(body).map_err(AppError::Invalid)?;
    let (object, origin) = (object.clone(), origin.clone());
    let author = access.me.user_id;
    db.write(move |conn| {
        let id = queries::insert_comment(
            conn,
            &NewComment {
                questionnaire_id: object.questionnaire.id,
                object_type: object.object_type,
                object_id: object.object_id,
                parent_id: None,
                author_user_id: author,
                body: &body,
            },
        )?;
        audit::record(
            conn,
            &origin,
            "comment_thread_started",
            "comment",
            Some(id),
            json!({ "questionnaire_id": object.questionnaire.id,
                    "object_type": object.object_type, "object_id": object.object_id }),
        )?;
        Ok(id)
    })
    .await
}

const RESOLVED_NO_REPLIES: &str = "This discussion is resolved. Reopen it to reply.";

/// Adds a reply to an open thread; returns the reply's id.
pub async fn reply(
    db: &Db,
    origin: &Origin,
    access: &StudyAccess,
    head: &ThreadHead,
    body: &str,
) -> Result<i64, AppError> {
    // A reply hidden inside a collapsed, resolved thread would go unread.
    if head.resolved_at.is_some() {
        return Err(AppError::invalid("body", RESOLVED_NO_REPLIES));
    }
    let body = rules::check_body(body).map_err(AppError::Invalid)?;
    let (head, origin) = (head.clone(), origin.clone());
    let author = access.me.user_id;
    db.write(move |conn| {
        let id = queries::insert_comment(
            conn,
            &NewComment {
                questionnaire_id: head.questionnaire_id,
                object_type: head.object_type,
                object_id: head.object_id,
                parent_id: Some(head.id),
                author_user_id: author,
                body: &body,
            },
        )?;
        audit::record(
            conn,
            &origin,
            "comment_replied",
            "comment",
            Some(id),
            json!({ "thread_id": head.id }),
        )?;
        Ok(id)
    })
    .await
}

/// Resolves (`true`) or reopens (`false`) a thread, if this member may.
pub async fn set_resolved(
    db: &Db,
    origin: &Origin,
    access: &StudyAccess,
    head: &ThreadHead,
    resolved: bool,
) -> Result<(), AppError> {
    if !rules::may_resolve(&access.me.roles, access.me.user_id, head.author_user_id) {
        return Err(AppError::Forbidden);
    }
    let (thread_id, user_id, origin) = (head.id, access.me.user_id, origin.clone());
    db.write(move |conn| {
        if queries::set_resolved(conn, thread_id, resolved.then_some(user_id))? {
            let action = if resolved {
                "comment_thread_resolved"
            } else {
                "comment_thread_reopened"
            };
            audit::record(conn, &origin, action, "comment", Some(thread_id), json!({}))?;
        }
        Ok(())
    })
    .await
}
