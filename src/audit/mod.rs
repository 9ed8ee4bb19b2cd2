//! The audit log: an append-only record of who did what to which object, from where. Every feature that
//! changes something records it here, in the same transaction as the change. The tables refuse UPDATE and
//! DELETE (database triggers), so not even a bug can rewrite history.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::audit_events;
use crate::db::{now, DbConnection};
use crate::request::{client_ip, RequestId};

/// Where a change came from: the person (if signed in), their address and the request.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub user_id: Option<i64>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

impl Origin {
    /// A change made from the command line on the server itself.
    pub fn command_line() -> Self {
        Origin {
            user_id: None,
            ip: Some("cli".into()),
            request_id: None,
        }
    }

    /// A change the service makes by itself on schedule (e.g. closing a campaign on its closing date).
    pub fn system() -> Self {
        Origin {
            user_id: None,
            ip: Some("schedule".into()),
            request_id: None,
        }
    }

    /// A change made by a participant through their link: no account, and their address is not kept,
    /// since with the participant's code it would be personal data.
    pub fn participant(self) -> Self {
        Origin {
            user_id: None,
            ip: None,
            request_id: self.request_id,
        }
    }

    pub fn by(mut self, user_id: i64) -> Self {
        self.user_id = Some(user_id);
        self
    }
}

impl FromRequest for Origin {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Origin {
            user_id: None,
            ip: client_ip(req),
            request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
        }))
    }
}

#[derive(Insertable)]
#[diesel(table_name = audit_events)]
struct NewEvent<'a> {
    occurred_at: NaiveDateTime,
    actor_user_id: Option<i64>,
    action: &'a str,
    object_type: &'a str,
    object_id: Option<String>,
    ip_address: Option<&'a str>,
    request_id: Option<&'a str>,
    details: String,
}

/// Records one event. `details` says what changed (ids, old and new values); never passwords or tokens.
pub fn record(
    conn: &mut DbConnection,
    origin: &Origin,
    action: &str,
    object_type: &str,
    object_id: Option<i64>,
    details: serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values(NewEvent {
            occurred_at: now(),
            actor_user_id: origin.user_id,
            action,
            object_type,
            object_id: object_id.map(|id| id.to_string()),
            ip_address: origin.ip.as_deref(),
            request_id: origin.request_id.as_deref(),
            details: details.to_string(),
        })
        .execute(conn)
        .map(|_| ())
}

/// Records a look at personal data, as every change is recorded: who and from where (the origin), which
/// study, and what was seen (participants by their codes, never their names or contact details). Its
/// own small write, after the reading it records.
pub async fn looked(
    db: &crate::db::Db,
    origin: &Origin,
    action: &'static str,
    study_id: Option<i64>,
    details: serde_json::Value,
) -> Result<(), crate::error::AppError> {
    let origin = origin.clone();
    let object_type = if study_id.is_some() { "study" } else { "site" };
    db.write(move |conn| {
        record(conn, &origin, action, object_type, study_id, details)
            .map_err(crate::error::AppError::from)
    })
    .await
}

#[derive(Debug, Clone, Queryable, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: i64,
    #[serde(with = "crate::db::utc")]
    pub occurred_at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    /// The actor's display name, when the actor is a person.
    pub actor_name: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    pub ip_address: Option<String>,
    pub request_id: Option<String>,
    /// JSON text describing the change.
    pub details: String,
}

/// The newest events first, one page at a time, with the actor's name joined in one query.
pub fn recent(conn: &mut DbConnection, limit: i64, offset: i64) -> QueryResult<Vec<AuditEvent>> {
    use crate::db::schema::users;
    audit_events::table
        .left_join(users::table)
        .select((
            audit_events::id,
            audit_events::occurred_at,
            audit_events::actor_user_id,
            users::display_name.nullable(),
            audit_events::action,
            audit_events::object_type,
            audit_events::object_id,
            audit_events::ip_address,
            audit_events::request_id,
            audit_events::details,
        ))
        .order(audit_events::id.desc())
        .limit(limit)
        .offset(offset)
        .load(conn)
}
