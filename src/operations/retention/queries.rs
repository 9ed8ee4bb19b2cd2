//! Storage for retention: a study's close date and schedule, what falls due, the reviews the daily
//! check writes, and the purge itself. No HTTP.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::exists;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rules::{Kind, Schedule, DEFAULT};
use crate::db::schema::{
    consent_records, interview_edits, interview_moments, interviews, participant_identities,
    participants, participations, responses, retention_reviews, retention_schedules, studies,
};
use crate::db::{now, DbConnection};
use crate::distribution::participants::queries::erase_identity;

/// Field notes as an interview starts: no COREQ item written.
const NO_FIELD_NOTES: &str = "{}";

/// Rows of one kind, by id, and the participants they belong to by code (anonymised answers have
/// none, so `codes` may be shorter than `ids`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Batch {
    pub ids: Vec<i64>,
    pub codes: Vec<String>,
}

impl Batch {
    fn from_rows(rows: Vec<(i64, Option<String>)>) -> Batch {
        let mut batch = Batch::default();
        for (id, code) in rows {
            batch.ids.push(id);
            batch.codes.extend(code);
        }
        batch.codes.sort();
        batch.codes.dedup();
        batch
    }
}

/// What falls due in a study, per kind: participants' identities (by participant id), online
/// responses, interviews with notes left, and consent records.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Items {
    pub identities: Batch,
    pub responses: Batch,
    pub interview_notes: Batch,
    pub consent_records: Batch,
}

impl Items {
    pub fn batch_mut(&mut self, kind: Kind) -> &mut Batch {
        match kind {
            Kind::Identities => &mut self.identities,
            Kind::Responses => &mut self.responses,
            Kind::InterviewNotes => &mut self.interview_notes,
            Kind::ConsentRecords => &mut self.consent_records,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.identities.ids.is_empty()
            && self.responses.ids.is_empty()
            && self.interview_notes.ids.is_empty()
            && self.consent_records.ids.is_empty()
    }
}

pub fn closed_at(conn: &mut DbConnection, study_id: i64) -> QueryResult<Option<NaiveDateTime>> {
    studies::table
        .find(study_id)
        .select(studies::closed_at)
        .first(conn)
}

/// Every closed study and when it closed.
pub fn closed_studies(conn: &mut DbConnection) -> QueryResult<Vec<(i64, NaiveDateTime)>> {
    studies::table
        .filter(studies::closed_at.is_not_null())
        .order(studies::id)
        .select((studies::id, studies::closed_at.assume_not_null()))
        .load(conn)
}

/// Marks the study closed now, unless it already is; whether it changed.
pub fn close(conn: &mut DbConnection, study_id: i64) -> QueryResult<bool> {
    diesel::update(
        studies::table
            .find(study_id)
            .filter(studies::closed_at.is_null()),
    )
    .set(studies::closed_at.eq(now()))
    .execute(conn)
    .map(|n| n == 1)
}

/// The study's schedule; the defaults when it was never changed.
pub fn schedule_of(conn: &mut DbConnection, study_id: i64) -> QueryResult<Schedule> {
    let row: Option<(i32, i32, i32, i32, i32)> = retention_schedules::table
        .find(study_id)
        .select((
            retention_schedules::identities_months,
            retention_schedules::responses_months,
            retention_schedules::interview_notes_months,
            retention_schedules::consent_months,
            retention_schedules::audit_months,
        ))
        .first(conn)
        .optional()?;
    let months = |n: i32| u32::try_from(n).unwrap_or(0);
    Ok(
        row.map_or(DEFAULT, |(identities, responses, notes, consent, audit)| {
            Schedule {
                identities_months: months(identities),
                responses_months: months(responses),
                interview_notes_months: months(notes),
                consent_months: months(consent),
                audit_months: months(audit),
            }
        }),
    )
}

/// Saves the study's schedule (the caller holds the study's lock).
pub fn save_schedule(
    conn: &mut DbConnection,
    study_id: i64,
    schedule: &Schedule,
    by: i64,
) -> QueryResult<()> {
    let months = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    let values = (
        retention_schedules::identities_months.eq(months(schedule.identities_months)),
        retention_schedules::responses_months.eq(months(schedule.responses_months)),
        retention_schedules::interview_notes_months.eq(months(schedule.interview_notes_months)),
        retention_schedules::consent_months.eq(months(schedule.consent_months)),
        retention_schedules::audit_months.eq(months(schedule.audit_months)),
        retention_schedules::updated_by.eq(Some(by)),
        retention_schedules::updated_at.eq(now()),
    );
    let updated = diesel::update(retention_schedules::table.find(study_id))
        .set(values)
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(retention_schedules::table)
            .values((retention_schedules::study_id.eq(study_id), values))
            .execute(conn)?;
    }
    Ok(())
}

/// The rows of one kind the study still holds.
pub fn held(conn: &mut DbConnection, study_id: i64, kind: Kind) -> QueryResult<Batch> {
    let rows: Vec<(i64, Option<String>)> = match kind {
        Kind::Identities => participant_identities::table
            .inner_join(participants::table)
            .filter(participant_identities::study_id.eq(study_id))
            .order(participants::id)
            .select((participants::id, participants::code.nullable()))
            .load(conn)?,
        Kind::Responses => responses::table
            .left_join(
                participants::table.on(participants::id.nullable().eq(responses::participant_id)),
            )
            .filter(responses::study_id.eq(study_id))
            .filter(responses::mode.ne("interview"))
            .order(responses::id)
            .select((responses::id, participants::code.nullable()))
            .load(conn)?,
        Kind::InterviewNotes => interviews::table
            .inner_join(participations::table.inner_join(participants::table))
            .filter(interviews::study_id.eq(study_id))
            .filter(
                interviews::response_id
                    .is_not_null()
                    .or(interviews::field_notes.ne(NO_FIELD_NOTES))
                    .or(exists(
                        interview_moments::table
                            .filter(interview_moments::interview_id.eq(interviews::id)),
                    ))
                    .or(exists(
                        interview_edits::table
                            .filter(interview_edits::interview_id.eq(interviews::id)),
                    )),
            )
            .order(interviews::id)
            .select((interviews::id, participants::code.nullable()))
            .load(conn)?,
        Kind::ConsentRecords => consent_records::table
            .inner_join(participations::table.inner_join(participants::table))
            .filter(participants::study_id.eq(study_id))
            .order(consent_records::id)
            .select((consent_records::id, participants::code.nullable()))
            .load(conn)?,
    };
    Ok(Batch::from_rows(rows))
}

/// A list the daily check found, waiting for a lead or done.
#[derive(Debug, Clone, Queryable)]
pub struct ReviewRow {
    pub id: i64,
    pub review_day: NaiveDate,
    pub found_at: NaiveDateTime,
    /// JSON of `Items`.
    pub items: String,
    pub status: String,
}

type ReviewColumns = (
    retention_reviews::id,
    retention_reviews::review_day,
    retention_reviews::found_at,
    retention_reviews::items,
    retention_reviews::status,
);

const REVIEW_COLUMNS: ReviewColumns = (
    retention_reviews::id,
    retention_reviews::review_day,
    retention_reviews::found_at,
    retention_reviews::items,
    retention_reviews::status,
);

/// The study's list waiting for approval, if any.
pub fn open_review(conn: &mut DbConnection, study_id: i64) -> QueryResult<Option<ReviewRow>> {
    retention_reviews::table
        .filter(retention_reviews::study_id.eq(study_id))
        .filter(retention_reviews::status.eq("open"))
        .order(retention_reviews::id.desc())
        .select(REVIEW_COLUMNS)
        .first(conn)
        .optional()
}

pub fn review(
    conn: &mut DbConnection,
    study_id: i64,
    review_id: i64,
) -> QueryResult<Option<ReviewRow>> {
    retention_reviews::table
        .find(review_id)
        .filter(retention_reviews::study_id.eq(study_id))
        .select(REVIEW_COLUMNS)
        .first(conn)
        .optional()
}

/// Whether the study already has a review for `day` (open or done).
pub fn reviewed_on(conn: &mut DbConnection, study_id: i64, day: NaiveDate) -> QueryResult<bool> {
    diesel::select(exists(
        retention_reviews::table
            .filter(retention_reviews::study_id.eq(study_id))
            .filter(retention_reviews::review_day.eq(day)),
    ))
    .get_result(conn)
}

/// Drops the study's lists still waiting, found before `day` (all of them with `None`): a newer
/// list, or a changed schedule, replaces them.
pub fn drop_open_reviews(
    conn: &mut DbConnection,
    study_id: i64,
    before: Option<NaiveDate>,
) -> QueryResult<usize> {
    let open = retention_reviews::table
        .filter(retention_reviews::study_id.eq(study_id))
        .filter(retention_reviews::status.eq("open"));
    match before {
        Some(day) => {
            diesel::delete(open.filter(retention_reviews::review_day.lt(day))).execute(conn)
        }
        None => diesel::delete(open).execute(conn),
    }
}

pub fn insert_review(
    conn: &mut DbConnection,
    study_id: i64,
    at: NaiveDateTime,
    items: &str,
) -> QueryResult<i64> {
    diesel::insert_into(retention_reviews::table)
        .values((
            retention_reviews::study_id.eq(study_id),
            retention_reviews::review_day.eq(at.date()),
            retention_reviews::found_at.eq(at),
            retention_reviews::items.eq(items),
        ))
        .returning(retention_reviews::id)
        .get_result(conn)
}

/// Marks an open review done; false if it was not open (approved twice, or replaced meanwhile).
pub fn mark_purged(conn: &mut DbConnection, review_id: i64, by: i64) -> QueryResult<bool> {
    diesel::update(
        retention_reviews::table
            .find(review_id)
            .filter(retention_reviews::status.eq("open")),
    )
    .set((
        retention_reviews::status.eq("purged"),
        retention_reviews::decided_by.eq(Some(by)),
        retention_reviews::decided_at.eq(now()),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// How many rows of each kind a purge deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Purged {
    pub identities: usize,
    pub responses: usize,
    pub interview_notes: usize,
    pub consent_records: usize,
}

/// Deletes exactly the listed rows that are still there, and only within the study. Answers go with
/// their response, and codings with their answer (the foreign keys cascade). Identities are erased
/// as a lead erases one by hand, so the participant's code and the fact of consent stay.
pub fn purge(conn: &mut DbConnection, study_id: i64, items: &Items) -> QueryResult<Purged> {
    let mut purged = Purged::default();
    let with_identity: Vec<i64> = participant_identities::table
        .filter(participant_identities::study_id.eq(study_id))
        .filter(participant_identities::participant_id.eq_any(&items.identities.ids))
        .select(participant_identities::participant_id)
        .load(conn)?;
    for participant_id in &with_identity {
        erase_identity(conn, *participant_id)?;
    }
    purged.identities = with_identity.len();

    purged.responses = diesel::delete(
        responses::table
            .filter(responses::study_id.eq(study_id))
            .filter(responses::mode.ne("interview"))
            .filter(responses::id.eq_any(&items.responses.ids)),
    )
    .execute(conn)?;

    let theirs = interviews::table
        .filter(interviews::study_id.eq(study_id))
        .filter(interviews::id.eq_any(&items.interview_notes.ids));
    let interview_ids: Vec<i64> = theirs.clone().select(interviews::id).load(conn)?;
    let notes: Vec<i64> = theirs
        .filter(interviews::response_id.is_not_null())
        .select(interviews::response_id.assume_not_null())
        .load(conn)?;
    diesel::delete(responses::table.filter(responses::id.eq_any(&notes))).execute(conn)?;
    diesel::delete(
        interview_moments::table.filter(interview_moments::interview_id.eq_any(&interview_ids)),
    )
    .execute(conn)?;
    diesel::delete(
        interview_edits::table.filter(interview_edits::interview_id.eq_any(&interview_ids)),
    )
    .execute(conn)?;
    purged.interview_notes =
        diesel::update(interviews::table.filter(interviews::id.eq_any(&interview_ids)))
            .set(interviews::field_notes.eq(NO_FIELD_NOTES))
            .execute(conn)?;

    let in_study = participations::table
        .inner_join(participants::table)
        .filter(participants::study_id.eq(study_id))
        .select(participations::id);
    purged.consent_records = diesel::delete(
        consent_records::table
            .filter(consent_records::participation_id.eq_any(in_study))
            .filter(consent_records::id.eq_any(&items.consent_records.ids)),
    )
    .execute(conn)?;
    Ok(purged)
}
