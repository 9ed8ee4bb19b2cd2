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

/// Where a change came from: the person (if signed in), their address, the request, and the study whose
/// pages or API the request came through (so every event a study's routes record belongs to it).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub user_id: Option<i64>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub study_id: Option<i64>,
}

impl Origin {
    /// A change made from the command line on the server itself.
    pub fn command_line() -> Self {
        Origin {
            ip: Some("cli".into()),
            ..Origin::default()
        }
    }

    /// A change the service makes by itself on schedule (e.g. closing a campaign on its closing date).
    pub fn system() -> Self {
        Origin {
            ip: Some("schedule".into()),
            ..Origin::default()
        }
    }

    /// A change made by a participant through their link: no account, and their address is not kept,
    /// since with the participant's code it would be personal data.
    pub fn participant(self) -> Self {
        Origin {
            user_id: None,
            ip: None,
            ..self
        }
    }

    /// For events of a study recorded away from its routes (the schedule, the command line).
    pub fn in_study(mut self, study_id: i64) -> Self {
        self.study_id = Some(study_id);
        self
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
            study_id: route_study(req),
        }))
    }
}

/// The study in the matched route, `/studies/{id}/...` or `/api/v1/studies/{study_id}/...`, whatever its
/// placeholder is called. A member of one study may not act in another through its routes (the study
/// extractors check it), so this is the study the event is about.
fn route_study(req: &HttpRequest) -> Option<i64> {
    let pattern = req.match_pattern()?;
    let rest = pattern.strip_prefix("/api/v1").unwrap_or(&pattern);
    let placeholder = rest.strip_prefix("/studies/{")?;
    let name = placeholder.split(['}', ':']).next()?;
    req.match_info().get(name)?.parse().ok()
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
    study_id: Option<i64>,
}

/// Records one event. `details` says what changed (ids, old and new values); never passwords or tokens.
/// The event belongs to the study it is about (object type `study`), or else to the origin's.
pub fn record(
    conn: &mut DbConnection,
    origin: &Origin,
    action: &str,
    object_type: &str,
    object_id: Option<i64>,
    details: serde_json::Value,
) -> QueryResult<()> {
    let study_id = object_id
        .filter(|_| object_type == "study")
        .or(origin.study_id);
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
            study_id,
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

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    #[serde(with = "crate::db::utc")]
    pub occurred_at: NaiveDateTime,
    pub actor_user_id: Option<i64>,
    /// The actor's display name, when the actor is a person.
    #[diesel(select_expression = crate::db::schema::users::display_name.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<crate::db::schema::users::display_name>)]
    pub actor_name: Option<String>,
    pub action: String,
    pub object_type: String,
    pub object_id: Option<String>,
    /// The study the event belongs to, if any.
    pub study_id: Option<i64>,
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
        .select(AuditEvent::as_select())
        .order(audit_events::id.desc())
        .limit(limit)
        .offset(offset)
        .load(conn)
}
