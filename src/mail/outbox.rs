//! The durable outbox: every email is a row here first, queued in the same transaction as the change
//! that causes it, and sent by the background worker. This file is the queueing side and the contract
//! with whoever composes campaign emails at send time.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::outbox_messages;
use crate::db::{now, DbConnection};

/// What an email is for. Prepared emails carry their text; the others are composed at send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Invitation,
    Reminder,
    NewLink,
    Prepared,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invitation => "invitation",
            Kind::Reminder => "reminder",
            Kind::NewLink => "new_link",
            Kind::Prepared => "prepared",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Kind::Invitation,
            Kind::Reminder,
            Kind::NewLink,
            Kind::Prepared,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// The text of a prepared email (account emails). Cleared from the row once sent.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// An email to queue. `key` names what it is for (e.g. `campaign:3:participant:9:reminder:2`): queueing
/// the same key twice queues one email.
#[derive(Debug, Clone)]
pub struct Queued {
    pub key: String,
    pub kind: Kind,
    pub study_id: Option<i64>,
    pub campaign_id: Option<i64>,
    pub participation_id: Option<i64>,
    pub prepared: Option<Prepared>,
}

/// One outbox row as the worker and the composer see it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox_messages)]
pub struct OutboxMessage {
    pub id: i64,
    pub idempotency_key: String,
    pub message_id: String,
    pub kind: String,
    pub study_id: Option<i64>,
    pub campaign_id: Option<i64>,
    pub participation_id: Option<i64>,
    pub to_address: Option<String>,
    pub subject: Option<String>,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

/// Queues one email; true if it was new, false if an email with this key was already queued.
/// `message_domain` is the host of the service's base URL, for the Message-ID. Callers queue inside the
/// write that causes the email, after a conditional update that only one instance can win (so two
/// instances never race to the same key; the unique index would refuse the loser's transaction).
pub fn queue(conn: &mut DbConnection, email: &Queued, message_domain: &str) -> QueryResult<bool> {
    let already: i64 = outbox_messages::table
        .filter(outbox_messages::idempotency_key.eq(&email.key))
        .count()
        .get_result(conn)?;
    if already > 0 {
        return Ok(false);
    }
    let at = now();
    let prepared = email.prepared.as_ref();
    diesel::insert_into(outbox_messages::table)
        .values((
            outbox_messages::idempotency_key.eq(&email.key),
            outbox_messages::message_id.eq(message_id(&email.key, message_domain)),
            outbox_messages::kind.eq(email.kind.as_str()),
            outbox_messages::study_id.eq(email.study_id),
            outbox_messages::campaign_id.eq(email.campaign_id),
            outbox_messages::participation_id.eq(email.participation_id),
            outbox_messages::to_address.eq(prepared.map(|p| p.to.as_str())),
            outbox_messages::subject.eq(prepared.map(|p| p.subject.as_str())),
            outbox_messages::body_text.eq(prepared.map(|p| p.text.as_str())),
            outbox_messages::body_html.eq(prepared.map(|p| p.html.as_str())),
            outbox_messages::next_attempt_at.eq(at),
            outbox_messages::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(true)
}

/// Queues many composed emails whose keys are new (the caller has just made what they are for, e.g. one
/// per new campaign recipient), one statement per thousand.
pub fn queue_new(
    conn: &mut DbConnection,
    emails: &[Queued],
    message_domain: &str,
) -> QueryResult<()> {
    let at = now();
    for chunk in emails.chunks(1000) {
        let ids: Vec<String> = chunk
            .iter()
            .map(|e| message_id(&e.key, message_domain))
            .collect();
        let rows: Vec<_> = chunk
            .iter()
            .zip(&ids)
            .map(|(email, id)| {
                (
                    outbox_messages::idempotency_key.eq(email.key.as_str()),
                    outbox_messages::message_id.eq(id.as_str()),
                    outbox_messages::kind.eq(email.kind.as_str()),
                    outbox_messages::study_id.eq(email.study_id),
                    outbox_messages::campaign_id.eq(email.campaign_id),
                    outbox_messages::participation_id.eq(email.participation_id),
                    outbox_messages::next_attempt_at.eq(at),
                    outbox_messages::created_at.eq(at),
                )
            })
            .collect();
        crate::db::on_backend!(conn, |c| diesel::insert_into(outbox_messages::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// A Message-ID fixed when the email is queued, so every attempt to send it carries the same one and a
/// receiving server can tell a retry from a new email. Derived from the key without revealing it.
pub fn message_id(key: &str, domain: &str) -> String {
    let digest = crate::security::hash_token(key);
    format!("<{}@{domain}>", &digest[..32])
}

/// A campaign email as composed at send time.
#[derive(Debug, Clone)]
pub struct Composed {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Sent as `List-Unsubscribe` with `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
    pub opt_out_url: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Composition {
    Send(Composed),
    /// Not to be sent after all (opted out, identity erased, no email address, campaign closed); the
    /// reason is kept on the row as its last_error.
    Cancel(String),
}

/// Turns claimed non-prepared rows into emails. Called by the worker inside a write transaction, once per
/// claimed batch, so it can record the link tokens it mints; it must use a fixed number of queries.
pub trait Composer: Send + Sync + 'static {
    fn compose(
        &self,
        conn: &mut DbConnection,
        messages: &[OutboxMessage],
    ) -> QueryResult<HashMap<i64, Composition>>;
}
