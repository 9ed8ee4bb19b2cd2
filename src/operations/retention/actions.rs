//! What leads do with retention (close the study, change its schedule, approve a purge) and the daily
//! check that lists what falls due. Nothing is deleted without a lead approving the list they saw.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::queries::{self, Items, Purged};
use super::rules::{self, Kind, Schedule, ScheduleFields};
use crate::analysis::tracker::queries::lock_study;
use crate::audit::{self, Origin};
use crate::db::{now, Db, DbConnection};
use crate::error::AppError;
use crate::studies::access::StudyAccess;
use crate::studies::rules::StudyRole;
use crate::web::CurrentUser;

const LEAD: &[StudyRole] = &[StudyRole::Lead];

/// Tables a purge deletes from, whose freed space is reclaimed straight after.
const PURGED_TABLES: [&str; 7] = [
    "participant_identities",
    "responses",
    "answers",
    "codings",
    "interview_moments",
    "interview_edits",
    "consent_records",
];

/// One kind of data and when it falls due.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KindDue {
    /// identities, responses, interview_notes or consent_records.
    pub kind: &'static str,
    /// What it is, in words.
    pub label: &'static str,
    pub months: u32,
    /// When it falls due; null while the study runs.
    #[serde(with = "crate::db::utc::option")]
    pub due_at: Option<NaiveDateTime>,
    pub due_now: bool,
}

/// A list the daily check found, as the lead reviews it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Review {
    pub id: i64,
    pub found_on: NaiveDate,
    #[serde(with = "crate::db::utc")]
    pub found_at: NaiveDateTime,
    /// What approving it deletes: ids per kind and the participants' codes.
    pub items: Items,
}

/// A study's retention: when it closed, its schedule, when each kind falls due, and the list
/// waiting for approval.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Retention {
    #[serde(with = "crate::db::utc::option")]
    pub closed_at: Option<NaiveDateTime>,
    pub schedule: Schedule,
    pub kinds: Vec<KindDue>,
    /// When the study's audit entries may be removed (by the operator).
    #[serde(with = "crate::db::utc::option")]
    pub audit_due_at: Option<NaiveDateTime>,
    pub review: Option<Review>,
}

/// A kind's key (as in `Items` and the API) and its name on the page.
fn kind_words(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Identities => ("identities", "Names and contact details"),
        Kind::Responses => ("responses", "Answers given online"),
        Kind::InterviewNotes => ("interview_notes", "Interview notes"),
        Kind::ConsentRecords => ("consent_records", "Consent records"),
    }
}

fn review_of(row: queries::ReviewRow) -> Result<Review, AppError> {
    Ok(Review {
        id: row.id,
        found_on: row.review_day,
        found_at: row.found_at,
        items: serde_json::from_str(&row.items).map_err(AppError::internal)?,
    })
}

fn retention_in(conn: &mut DbConnection, study_id: i64) -> Result<Retention, AppError> {
    let closed_at = queries::closed_at(conn, study_id)?;
    let schedule = queries::schedule_of(conn, study_id)?;
    let at = now();
    let kinds = Kind::ALL
        .iter()
        .map(|&kind| KindDue {
            kind: kind_words(kind).0,
            label: kind_words(kind).1,
            months: kind.months(&schedule),
            due_at: closed_at.map(|c| rules::due_at(c, kind.months(&schedule))),
            due_now: closed_at.is_some_and(|c| rules::is_due(&schedule, kind, c, at)),
        })
        .collect();
    let review = queries::open_review(conn, study_id)?
        .map(review_of)
        .transpose()?;
    Ok(Retention {
        closed_at,
        audit_due_at: closed_at.map(|c| rules::due_at(c, schedule.audit_months)),
        schedule,
        kinds,
        review,
    })
}

/// The study's retention, for its leads.
pub async fn retention(
    db: &Db,
    user: &CurrentUser,
    study_id: i64,
) -> Result<(StudyAccess, Retention), AppError> {
    let access = StudyAccess::with_role(db, user, study_id, LEAD).await?;
    let retention = db.read(move |conn| retention_in(conn, study_id)).await?;
    Ok((access, retention))
}

/// Closes the study (the lead confirms it has ended): retention periods count from now.
pub async fn close(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    confirmed: bool,
) -> Result<Retention, AppError> {
    StudyAccess::with_role(db, user, study_id, LEAD).await?;
    if !confirmed {
        return Err(AppError::invalid(
            "confirm",
            "Confirm that the study has ended before closing it",
        ));
    }
    let origin = origin.clone();
    db.write(move |conn| {
        if queries::close(conn, study_id)? {
            audit::record(
                conn,
                &origin,
                "study_closed",
                "study",
                Some(study_id),
                json!({}),
            )?;
        }
        retention_in(conn, study_id)
    })
    .await
}

/// Changes the study's schedule. A list waiting for approval was made under the old schedule, so it
/// is dropped; the next check makes a new one.
pub async fn set_schedule(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    fields: ScheduleFields,
) -> Result<Retention, AppError> {
    StudyAccess::with_role(db, user, study_id, LEAD).await?;
    let schedule = rules::check(&fields).map_err(AppError::Invalid)?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        lock_study(conn, study_id)?;
        let before = queries::schedule_of(conn, study_id)?;
        if before != schedule {
            queries::save_schedule(conn, study_id, &schedule, user_id)?;
            queries::drop_open_reviews(conn, study_id, None)?;
            audit::record(
                conn,
                &origin,
                "retention_schedule_changed",
                "study",
                Some(study_id),
                json!({ "before": before, "after": schedule }),
            )?;
        }
        retention_in(conn, study_id)
    })
    .await
}

/// Lists what falls due in one closed study at `at`, once a day: an earlier open list is replaced,
/// and a second look the same day (another instance, or a lead's "check now") finds the day's list
/// already there. Holding the study's row on PostgreSQL makes instances take turns; the unique
/// (study, day) index stops a second list whatever happens. Deletes nothing.
fn check_study(
    conn: &mut DbConnection,
    study_id: i64,
    closed_at: NaiveDateTime,
    at: NaiveDateTime,
) -> Result<Option<i64>, AppError> {
    lock_study(conn, study_id)?;
    let today = at.date();
    queries::drop_open_reviews(conn, study_id, Some(today))?;
    if queries::reviewed_on(conn, study_id, today)? {
        return Ok(None);
    }
    let schedule = queries::schedule_of(conn, study_id)?;
    let mut items = Items::default();
    for kind in Kind::ALL {
        if rules::is_due(&schedule, kind, closed_at, at) {
            *items.batch_mut(kind) = queries::held(conn, study_id, kind)?;
        }
    }
    if items.is_empty() {
        return Ok(None);
    }
    let text = serde_json::to_string(&items).map_err(AppError::internal)?;
    let id = queries::insert_review(conn, study_id, at, &text)?;
    audit::record(
        conn,
        &Origin::system(),
        "retention_due",
        "study",
        Some(study_id),
        json!({ "review_id": id, "counts": counts(&items) }),
    )?;
    Ok(Some(id))
}

fn counts(items: &Items) -> serde_json::Value {
    json!({
        "identities": items.identities.ids.len(),
        "responses": items.responses.ids.len(),
        "interview_notes": items.interview_notes.ids.len(),
        "consent_records": items.consent_records.ids.len(),
    })
}

/// The daily check over every closed study: how many new lists it made. Safe in every instance at
/// once (see `check_study`); each study is its own transaction, so one failing does not stop the rest.
pub async fn sweep(db: &Db, at: NaiveDateTime) -> Result<usize, AppError> {
    let closed = db
        .read(|conn| queries::closed_studies(conn).map_err(AppError::from))
        .await?;
    let mut made = 0;
    for (study_id, closed_at) in closed {
        let found = db
            .write(move |conn| check_study(conn, study_id, closed_at, at))
            .await;
        match found {
            Ok(Some(_)) => made += 1,
            Ok(None) => {}
            Err(error) => tracing::warn!(study_id, %error, "retention check failed for a study"),
        }
    }
    Ok(made)
}

/// A lead's "check now": the same check for their study, at once rather than at the next daily run.
pub async fn check_now(db: &Db, user: &CurrentUser, study_id: i64) -> Result<Retention, AppError> {
    StudyAccess::with_role(db, user, study_id, LEAD).await?;
    db.write(move |conn| {
        if let Some(closed_at) = queries::closed_at(conn, study_id)? {
            check_study(conn, study_id, closed_at, now())?;
        }
        retention_in(conn, study_id)
    })
    .await
}

/// Deletes what the reviewed list holds, in one transaction, audited with counts and participant
/// codes; then makes the deleted rows unreadable on disk.
pub async fn approve(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    review_id: i64,
) -> Result<Purged, AppError> {
    StudyAccess::with_role(db, user, study_id, LEAD).await?;
    let (origin, user_id) = (origin.clone(), user.id);
    let purged = db
        .write(move |conn| {
            lock_study(conn, study_id)?;
            let gone = || {
                AppError::invalid(
                    "review_id",
                    "This list is no longer waiting: it was deleted already, or replaced by a newer \
                     one. Review the list shown now.",
                )
            };
            let review = queries::review(conn, study_id, review_id)?.ok_or_else(gone)?;
            if !queries::mark_purged(conn, review_id, user_id)? {
                return Err(gone());
            }
            let review = review_of(review)?;
            let purged = queries::purge(conn, study_id, &review.items)?;
            let items = &review.items;
            audit::record(
                conn,
                &origin,
                "retention_purged",
                "study",
                Some(study_id),
                json!({
                    "review_id": review_id,
                    "counts": purged,
                    "participants": {
                        "identities": items.identities.codes,
                        "responses": items.responses.codes,
                        "interview_notes": items.interview_notes.codes,
                        "consent_records": items.consent_records.codes,
                    },
                }),
            )?;
            Ok(purged)
        })
        .await?;
    for table in PURGED_TABLES {
        if let Err(error) = db.reclaim(table).await {
            tracing::warn!(%error, table, "could not reclaim the purged rows' space yet");
        }
    }
    Ok(purged)
}
