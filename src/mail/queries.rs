//! The outbox's storage on the sending side: claiming due emails, recording what became of them, and
//! what administrators see and do.

use chrono::NaiveDateTime;
use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;

use super::outbox::OutboxMessage;
use crate::db::schema::outbox_messages as om;
use crate::db::DbConnection;

/// What became of one claimed email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Given up: the reply (or reason) is kept for administrators.
    Failed(String),
    /// Queued again for `at`, after a temporary failure.
    Retry {
        at: NaiveDateTime,
        error: String,
    },
    /// Not to be sent after all (the composer said so).
    Cancelled(String),
    /// Claimed but never attempted (the worker is stopping): due again at once, the attempt not counted.
    Released,
}

/// Takes up to `limit` due emails for this worker until `lease_until`: queued ones whose time has come,
/// and ones another worker claimed but did not finish before its lease ran out (it stopped or died).
/// On PostgreSQL, rows another instance is claiming at this moment are skipped rather than waited for,
/// so instances sharing the database never claim the same email.
pub fn claim(
    conn: &mut DbConnection,
    limit: i64,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
) -> QueryResult<Vec<OutboxMessage>> {
    let due = om::table
        .filter(
            (om::status.eq("queued").and(om::next_attempt_at.le(now)))
                .or(om::status.eq("sending").and(om::locked_until.lt(now))),
        )
        .order(om::id)
        .limit(limit)
        .select(om::id);
    let ids: Vec<i64> = match conn {
        DbConnection::Postgres(pg) => due.for_update().skip_locked().load(pg)?,
        // SQLite: the write transaction already holds the only write lock.
        DbConnection::Sqlite(sqlite) => due.load(sqlite)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let claimed = || om::table.filter(om::id.eq_any(&ids));
    diesel::update(claimed())
        .set((
            om::status.eq("sending"),
            om::locked_until.eq(lease_until),
            om::attempts.eq(om::attempts + 1),
        ))
        .execute(conn)?;
    claimed()
        .order(om::id)
        .select(OutboxMessage::as_select())
        .load(conn)
}

/// Records outcomes, each only while its row is still claimed by this worker: still sending, under a
/// lease it wrote (`leases`; see `renew`). Sent emails lose their prepared text (reset links must not
/// linger) and are recorded in one statement, so recording stays cheap at volume.
pub fn record(
    conn: &mut DbConnection,
    outcomes: &[(i64, Outcome)],
    leases: &[NaiveDateTime],
    now: NaiveDateTime,
) -> QueryResult<()> {
    let claimed = || {
        om::table
            .filter(om::status.eq("sending"))
            .filter(om::locked_until.eq_any(leases))
    };
    let sent: Vec<i64> = outcomes
        .iter()
        .filter(|(_, o)| *o == Outcome::Sent)
        .map(|(id, _)| *id)
        .collect();
    if !sent.is_empty() {
        diesel::update(claimed().filter(om::id.eq_any(&sent)))
            .set((
                om::status.eq("sent"),
                om::sent_at.eq(now),
                om::locked_until.eq(None::<NaiveDateTime>),
                om::last_error.eq(None::<String>),
                om::to_address.eq(None::<String>),
                om::subject.eq(None::<String>),
                om::body_text.eq(None::<String>),
                om::body_html.eq(None::<String>),
            ))
            .execute(conn)?;
    }
    for (id, outcome) in outcomes {
        let row = claimed().filter(om::id.eq(*id));
        let unlocked = om::locked_until.eq(None::<NaiveDateTime>);
        match outcome {
            Outcome::Sent => continue,
            Outcome::Failed(error) => diesel::update(row)
                .set((om::status.eq("failed"), unlocked, om::last_error.eq(error)))
                .execute(conn)?,
            Outcome::Cancelled(reason) => diesel::update(row)
                .set((
                    om::status.eq("cancelled"),
                    unlocked,
                    om::last_error.eq(reason),
                ))
                .execute(conn)?,
            Outcome::Retry { at, error } => diesel::update(row)
                .set((
                    om::status.eq("queued"),
                    unlocked,
                    om::next_attempt_at.eq(at),
                    om::last_error.eq(error),
                ))
                .execute(conn)?,
            Outcome::Released => diesel::update(row)
                .set((
                    om::status.eq("queued"),
                    unlocked,
                    om::attempts.eq(om::attempts - 1),
                ))
                .execute(conn)?,
        };
    }
    Ok(())
}

/// Extends to `until` the lease on the rows among `ids` that this worker still holds, and returns them.
/// A worker knows its rows by the lease it wrote on them (`leases`: the last value it knows it wrote,
/// and any it tried since without hearing back); a row under another lease ran out and was claimed
/// again, and is no longer this worker's to send or record.
pub fn renew(
    conn: &mut DbConnection,
    ids: &[i64],
    leases: &[NaiveDateTime],
    until: NaiveDateTime,
) -> QueryResult<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let held = || {
        om::table
            .filter(om::id.eq_any(ids))
            .filter(om::status.eq("sending"))
    };
    diesel::update(held().filter(om::locked_until.eq_any(leases)))
        .set(om::locked_until.eq(until))
        .execute(conn)?;
    held()
        .filter(om::locked_until.eq(until))
        .select(om::id)
        .load(conn)
}

/// How many emails are in each status.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct StatusCounts {
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub cancelled: i64,
}

pub fn status_counts(conn: &mut DbConnection) -> QueryResult<StatusCounts> {
    let rows: Vec<(String, i64)> = om::table
        .group_by(om::status)
        .select((om::status, count_star()))
        .load(conn)?;
    let mut counts = StatusCounts::default();
    for (status, n) in rows {
        match status.as_str() {
            "queued" => counts.queued = n,
            "sending" => counts.sending = n,
            "sent" => counts.sent = n,
            "failed" => counts.failed = n,
            _ => counts.cancelled = n,
        }
    }
    Ok(counts)
}

/// A failed email as administrators see it: what it was and why, never to whom or what it said.
#[derive(Debug, Queryable, Serialize, utoipa::ToSchema)]
pub struct FailedEmail {
    pub id: i64,
    pub kind: String,
    pub attempts: i32,
    /// The mail server's reply, or why it could not be reached.
    pub last_error: Option<String>,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
}

pub fn recent_failures(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<FailedEmail>> {
    om::table
        .filter(om::status.eq("failed"))
        .order(om::id.desc())
        .limit(limit)
        .select((
            om::id,
            om::kind,
            om::attempts,
            om::last_error,
            om::created_at,
        ))
        .load(conn)
}

/// Queues a failed email again as if new; false if there is no failed email with this id.
pub fn requeue_failed(conn: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<bool> {
    let changed = diesel::update(
        om::table
            .filter(om::id.eq(id))
            .filter(om::status.eq("failed")),
    )
    .set((
        om::status.eq("queued"),
        om::attempts.eq(0),
        om::next_attempt_at.eq(now),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}
