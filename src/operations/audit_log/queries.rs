//! Reading the audit log a page at a time, by event id, with the filters a reviewer uses. Each filter
//! has an index ending in the id (migration audit_search), so a page is one index range read at any
//! depth and on a log of millions of rows.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::Text;

use super::rules::{Cursor, Filter};
use crate::audit::AuditEvent;
use crate::db::schema::{audit_events, studies, users};
use crate::db::DbConnection;

/// The first and last event ids a filter's dates allow (`None`: no limit on that side).
#[derive(Debug, Clone, Copy, Default)]
struct Ids {
    low: Option<i64>,
    high: Option<i64>,
}

/// The event ids a filter's dates cover, or `None` when no event falls in them. Ids are given in the
/// order events are recorded, and each is stamped as it is recorded, so a day range is an id range:
/// found with two reads of the time index, after which every page reads by id alone.
fn id_range(conn: &mut DbConnection, filter: &Filter) -> QueryResult<Option<Ids>> {
    let start = |day: NaiveDate| -> NaiveDateTime { day.and_hms_opt(0, 0, 0).unwrap_or_default() };
    let low = match filter.from {
        Some(from) => audit_events::table
            .filter(audit_events::occurred_at.ge(start(from)))
            .order((audit_events::occurred_at.asc(), audit_events::id.asc()))
            .select(audit_events::id)
            .first::<i64>(conn)
            .optional()?
            .map(Some),
        None => Some(None),
    };
    let high = match filter.to {
        Some(to) => audit_events::table
            .filter(audit_events::occurred_at.lt(start(to) + Duration::days(1)))
            .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
            .select(audit_events::id)
            .first::<i64>(conn)
            .optional()?
            .map(Some),
        None => Some(None),
    };
    Ok(low
        .zip(high)
        .map(|(low, high)| Ids { low, high })
        .filter(|ids| ids.low.zip(ids.high).is_none_or(|(low, high)| low <= high)))
}

/// Up to `limit` events matching `filter` from `cursor` on: newest first, or (newer than an event)
/// the ones just above it, still returned newest first.
fn fetch(
    conn: &mut DbConnection,
    filter: &Filter,
    ids: Ids,
    cursor: Cursor,
    limit: i64,
) -> QueryResult<Vec<AuditEvent>> {
    let mut query = audit_events::table
        .left_join(users::table)
        .select(AuditEvent::as_select())
        .limit(limit)
        .into_boxed();
    if let Some(low) = ids.low {
        query = query.filter(audit_events::id.ge(low));
    }
    if let Some(high) = ids.high {
        query = query.filter(audit_events::id.le(high));
    }
    if let Some(actor) = filter.actor {
        query = query.filter(audit_events::actor_user_id.eq(actor));
    }
    if let Some(study) = filter.study {
        query = query.filter(audit_events::study_id.eq(study));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_events::action.eq(action.clone()));
    }
    match cursor {
        Cursor::Newest => query.order(audit_events::id.desc()).load(conn),
        Cursor::OlderThan(id) => query
            .filter(audit_events::id.lt(id))
            .order(audit_events::id.desc())
            .load(conn),
        Cursor::NewerThan(id) => {
            let mut events: Vec<AuditEvent> = query
                .filter(audit_events::id.gt(id))
                .order(audit_events::id.asc())
                .load(conn)?;
            events.reverse();
            Ok(events)
        }
    }
}

/// One page of the log and whether there is more on either side of it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct EventPage {
    pub events: Vec<AuditEvent>,
    /// The newest event shown, when newer ones match too (the "newer" link's `after`).
    pub newer: Option<i64>,
    /// The oldest event shown, when older ones match too (the "older" link's `before`).
    pub older: Option<i64>,
}

pub fn page(
    conn: &mut DbConnection,
    filter: &Filter,
    cursor: Cursor,
    size: i64,
) -> QueryResult<EventPage> {
    let Some(range) = id_range(conn, filter)? else {
        return Ok(EventPage::default());
    };
    let events = fetch(conn, filter, range, cursor, size)?;
    let (Some(first), Some(last)) = (events.first(), events.last()) else {
        return Ok(EventPage::default());
    };
    let (first, last) = (first.id, last.id);
    let more = |conn: &mut DbConnection, cursor| {
        fetch(conn, filter, range, cursor, 1).map(|found| !found.is_empty())
    };
    let newer = more(conn, Cursor::NewerThan(first))?.then_some(first);
    let older = more(conn, Cursor::OlderThan(last))?.then_some(last);
    Ok(EventPage {
        events,
        newer,
        older,
    })
}

/// The next `size` matching events older than `cursor`, for exports that walk the whole filtered log
/// a chunk at a time.
pub fn chunk(
    conn: &mut DbConnection,
    filter: &Filter,
    cursor: Cursor,
    size: i64,
) -> QueryResult<Vec<AuditEvent>> {
    match id_range(conn, filter)? {
        Some(range) => fetch(conn, filter, range, cursor, size),
        None => Ok(Vec::new()),
    }
}

#[derive(QueryableByName)]
struct Action {
    #[diesel(sql_type = Text)]
    action: String,
}

/// Every kind of event recorded so far, in order: one index step per kind (a loose index scan, which
/// neither database does by itself for DISTINCT), not a read of the whole log.
pub fn actions(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let rows: Vec<Action> = diesel::sql_query(
        "WITH RECURSIVE kinds (action) AS ( \
             SELECT MIN(action) FROM audit_events \
             UNION ALL \
             SELECT (SELECT MIN(action) FROM audit_events WHERE action > kinds.action) \
             FROM kinds WHERE kinds.action IS NOT NULL \
         ) \
         SELECT action FROM kinds WHERE action IS NOT NULL",
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|row| row.action).collect())
}

/// A person or study to choose in a filter.
#[derive(Debug, Clone, Queryable, serde::Serialize)]
pub struct Choice {
    pub id: i64,
    pub label: String,
}

pub fn people(conn: &mut DbConnection) -> QueryResult<Vec<Choice>> {
    users::table
        .order((users::display_name.asc(), users::id.asc()))
        .select((users::id, users::display_name))
        .load(conn)
}

pub fn studies(conn: &mut DbConnection) -> QueryResult<Vec<Choice>> {
    studies::table
        .order((studies::title.asc(), studies::id.asc()))
        .select((studies::id, studies::title))
        .load(conn)
}
