//! Reading and exporting the audit log, for an administrator (the whole site) or a study's lead (that
//! study's trail). Every read is itself recorded.

use actix_web::web::Bytes;
use futures_util::{stream, Stream, StreamExt};
use serde_json::json;

use super::queries::{self, EventPage};
use super::rules::{csv_row, Cursor, Filter, CSV_HEADER};
use crate::audit::{self, Origin};
use crate::db::Db;
use crate::error::AppError;

pub const PAGE_SIZE: i64 = 50;
/// Events read at a time for a CSV: the export never holds more than this many in memory.
const CSV_CHUNK: i64 = 1_000;

/// Whose log: the whole site's, or one study's trail (its filter cannot be widened).
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Site,
    Study(i64),
}

impl Scope {
    fn narrow(self, mut filter: Filter) -> Filter {
        if let Scope::Study(id) = self {
            filter.study = Some(id);
        }
        filter
    }

    fn study(self) -> Option<i64> {
        match self {
            Scope::Site => None,
            Scope::Study(id) => Some(id),
        }
    }
}

/// One page of events, the look recorded with the filters used (never what the page showed).
pub async fn view(
    db: &Db,
    origin: &Origin,
    scope: Scope,
    (filter, cursor): (Filter, Cursor),
    filters: String,
    size: i64,
) -> Result<EventPage, AppError> {
    let details = json!({ "filter": filters, "page": page_details(cursor) });
    audit::looked(db, origin, "audit_log_viewed", scope.study(), details).await?;
    let filter = scope.narrow(filter);
    db.read(move |conn| queries::page(conn, &filter, cursor, size).map_err(AppError::from))
        .await
}

fn page_details(cursor: Cursor) -> serde_json::Value {
    match cursor {
        Cursor::Newest => json!("newest"),
        Cursor::OlderThan(id) => json!({ "before": id }),
        Cursor::NewerThan(id) => json!({ "after": id }),
    }
}

/// The filtered events as CSV, newest first, read and sent a chunk at a time. The export is recorded
/// before the first byte goes.
pub async fn export(
    db: &Db,
    origin: &Origin,
    scope: Scope,
    filter: Filter,
    filters: String,
) -> Result<impl Stream<Item = Result<Bytes, AppError>>, AppError> {
    let details = json!({ "filter": filters });
    audit::looked(db, origin, "audit_log_exported", scope.study(), details).await?;
    let filter = scope.narrow(filter);
    let db = db.clone();
    // A byte-order mark so spreadsheets read the file as UTF-8.
    let header = csv_bytes(
        b"\xEF\xBB\xBF".to_vec(),
        std::iter::once(CSV_HEADER.map(String::from)),
    );
    let chunks = stream::unfold(Some(Cursor::Newest), move |cursor| {
        let (db, filter) = (db.clone(), filter.clone());
        async move {
            let cursor = cursor?;
            let read = db
                .read(move |conn| {
                    queries::chunk(conn, &filter, cursor, CSV_CHUNK).map_err(AppError::from)
                })
                .await;
            let events = match read {
                Ok(events) => events,
                Err(error) => return Some((Err(error), None)),
            };
            let last = events.last()?.id;
            let next = (events.len() as i64 == CSV_CHUNK).then_some(Cursor::OlderThan(last));
            Some((csv_bytes(Vec::new(), events.iter().map(csv_row)), next))
        }
    });
    Ok(stream::once(async move { header }).chain(chunks))
}

fn csv_bytes(start: Vec<u8>, rows: impl Iterator<Item = [String; 10]>) -> Result<Bytes, AppError> {
    let mut writer = csv::Writer::from_writer(start);
    for row in rows {
        writer.write_record(row).map_err(AppError::internal)?;
    }
    writer
        .into_inner()
        .map(Bytes::from)
        .map_err(|e| AppError::internal(e.into_error()))
}

/// What the filter form offers: people, studies (site only) and the kinds of event recorded so far.
#[derive(Debug, serde::Serialize)]
pub struct Choices {
    pub people: Vec<queries::Choice>,
    pub studies: Vec<queries::Choice>,
    pub actions: Vec<String>,
}

pub async fn choices(db: &Db, scope: Scope) -> Result<Choices, AppError> {
    db.read(move |conn| {
        let (people, studies) = match scope {
            Scope::Site => (queries::people(conn)?, queries::studies(conn)?),
            Scope::Study(id) => (
                crate::studies::queries::members(conn, id)?
                    .into_iter()
                    .map(|m| queries::Choice {
                        id: m.user_id,
                        label: m.display_name,
                    })
                    .collect(),
                Vec::new(),
            ),
        };
        let actions = queries::actions(conn)?;
        Ok::<_, AppError>(Choices {
            people,
            studies,
            actions,
        })
    })
    .await
}
