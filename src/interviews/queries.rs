//! Storage for interviews, their notes (answers of the participant's interview response), moments,
//! follow-ups and later edits. No HTTP here.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::rules::{FieldNotes, Note, QuestionStatus};
use crate::db::schema::{
    answers, interview_edits, interview_follow_ups, interview_moments, interviews,
    participant_identities, participants, participations, questionnaire_versions, questionnaires,
    responses, study_members, users,
};
use crate::db::{now, on_backend, DbConnection};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = interviews)]
pub struct Interview {
    pub id: i64,
    pub study_id: i64,
    #[serde(skip)]
    pub participation_id: i64,
    pub interviewer_id: i64,
    pub note_taker_id: Option<i64>,
    /// The wall-clock time agreed with the participant, as the lead entered it: a local time with no
    /// offset (not UTC), e.g. 2026-12-03T14:30:00.
    #[schema(value_type = String, pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$")]
    pub scheduled_at: NaiveDateTime,
    /// in_person, phone or video.
    pub mode: String,
    /// scheduled, in_progress, paused, completed, declined or cancelled.
    pub status: String,
    /// The participant's response (mode interview) holding the notes, once consent is recorded.
    pub response_id: Option<i64>,
    #[serde(with = "crate::db::utc::option")]
    pub started_at: Option<NaiveDateTime>,
    #[serde(with = "crate::db::utc::option")]
    pub paused_at: Option<NaiveDateTime>,
    pub paused_seconds: i32,
    #[serde(with = "crate::db::utc::option")]
    pub ended_at: Option<NaiveDateTime>,
    #[serde(skip)]
    pub field_notes: String,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
}

impl Interview {
    pub fn field_notes(&self) -> FieldNotes {
        serde_json::from_str(&self.field_notes).unwrap_or_default()
    }

    /// The interviewer or the note-taker: the people who take this interview's notes.
    pub fn is_taken_by(&self, user_id: i64) -> bool {
        self.interviewer_id == user_id || self.note_taker_id == Some(user_id)
    }
}

/// Who a participant is, for the people allowed to see it.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    /// JSON array of easy_read, large_print, interpreter_bsl, phone_interview.
    #[serde(skip)]
    pub communication_needs: String,
    pub preferred_mode: String,
}

/// An interview with its participant's pseudonymous facts and the questionnaire version asked.
#[derive(Debug, Clone, Queryable, Serialize, ToSchema)]
pub struct Scheduled {
    #[serde(flatten)]
    pub interview: Interview,
    pub participant_id: i64,
    pub participant_code: String,
    pub participant_group: String,
    pub service_area: String,
    pub system_level: String,
    pub questionnaire_id: i64,
    pub questionnaire_title: String,
    pub version_id: i64,
    pub version_number: i32,
    #[serde(skip)]
    pub contact: Option<Contact>,
}

/// `only_for`: an interviewer's own interviews (as interviewer or note-taker); None for all.
pub fn schedule(
    conn: &mut DbConnection,
    study_id: i64,
    only_for: Option<i64>,
    interview_id: Option<i64>,
) -> QueryResult<Vec<Scheduled>> {
    let mut query = interviews::table
        .inner_join(
            participations::table
                .inner_join(participants::table.left_join(participant_identities::table))
                .inner_join(questionnaires::table)
                .inner_join(questionnaire_versions::table),
        )
        .filter(interviews::study_id.eq(study_id))
        .select((
            Interview::as_select(),
            participants::id,
            participants::code,
            participants::participant_group,
            participants::service_area,
            participants::system_level,
            questionnaires::id,
            questionnaires::title,
            questionnaire_versions::id,
            questionnaire_versions::version_number,
            (
                participant_identities::name,
                participant_identities::phone,
                participant_identities::communication_needs,
                participant_identities::preferred_mode,
            )
                .nullable(),
        ))
        .order((interviews::scheduled_at, interviews::id))
        .into_boxed();
    if let Some(user_id) = only_for {
        query = query.filter(
            interviews::interviewer_id
                .eq(user_id)
                .or(interviews::note_taker_id.eq(user_id)),
        );
    }
    if let Some(id) = interview_id {
        query = query.filter(interviews::id.eq(id));
    }
    query.load(conn)
}

/// Display names by user id, for the people named on interviews.
pub fn names(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// The study's members who hold the interviewer role: (id, name).
pub fn interviewers(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<(i64, String)>> {
    study_members::table
        .inner_join(users::table)
        .filter(study_members::study_id.eq(study_id))
        .filter(study_members::is_interviewer.eq(true))
        .filter(users::is_active.eq(true))
        .select((users::id, users::display_name))
        .order(users::display_name)
        .load(conn)
}

/// Holds the interview's row until the transaction ends, so two saves to one interview take turns on
/// PostgreSQL (SQLite's writes already do).
pub fn lock(conn: &mut DbConnection, interview_id: i64) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        interviews::table
            .find(interview_id)
            .select(interviews::id)
            .for_update()
            .first::<i64>(pg)
            .optional()?;
    }
    Ok(())
}

// ---- Scheduling ----

/// The participation a new interview is for, and whether it can take one: (id, already answered or
/// interviewed).
pub fn participation(
    conn: &mut DbConnection,
    participant_id: i64,
    questionnaire_id: i64,
) -> QueryResult<Option<(i64, bool)>> {
    let found = participations::table
        .filter(participations::participant_id.eq(participant_id))
        .filter(participations::questionnaire_id.eq(questionnaire_id))
        .select((participations::id, participations::started_at))
        .first::<(i64, Option<NaiveDateTime>)>(conn)
        .optional()?;
    let Some((id, started_at)) = found else {
        return Ok(None);
    };
    let interviewed: i64 = interviews::table
        .filter(interviews::participation_id.eq(id))
        .count()
        .get_result(conn)?;
    Ok(Some((id, started_at.is_some() || interviewed > 0)))
}

pub fn insert_participation(
    conn: &mut DbConnection,
    participant_id: i64,
    questionnaire_id: i64,
    version_id: i64,
) -> QueryResult<i64> {
    diesel::insert_into(participations::table)
        .values((
            participations::participant_id.eq(participant_id),
            participations::questionnaire_id.eq(questionnaire_id),
            participations::version_id.eq(version_id),
            participations::created_at.eq(now()),
        ))
        .returning(participations::id)
        .get_result(conn)
}

/// An interview takes the version chosen for it, whatever an invitation offered before.
pub fn set_participation_version(
    conn: &mut DbConnection,
    participation_id: i64,
    version_id: i64,
) -> QueryResult<()> {
    diesel::update(participations::table.find(participation_id))
        .set(participations::version_id.eq(version_id))
        .execute(conn)
        .map(|_| ())
}

pub struct Assignment {
    pub interviewer_id: i64,
    pub note_taker_id: Option<i64>,
    pub scheduled_at: NaiveDateTime,
    pub mode: &'static str,
}

pub fn insert(
    conn: &mut DbConnection,
    study_id: i64,
    participation_id: i64,
    assignment: &Assignment,
    created_by: i64,
) -> QueryResult<i64> {
    let at = now();
    diesel::insert_into(interviews::table)
        .values((
            interviews::study_id.eq(study_id),
            interviews::participation_id.eq(participation_id),
            interviews::interviewer_id.eq(assignment.interviewer_id),
            interviews::note_taker_id.eq(assignment.note_taker_id),
            interviews::scheduled_at.eq(assignment.scheduled_at),
            interviews::mode.eq(assignment.mode),
            interviews::created_by.eq(created_by),
            interviews::created_at.eq(at),
            interviews::updated_at.eq(at),
        ))
        .returning(interviews::id)
        .get_result(conn)
}

pub fn reassign(
    conn: &mut DbConnection,
    interview_id: i64,
    assignment: &Assignment,
) -> QueryResult<()> {
    diesel::update(interviews::table.find(interview_id))
        .set((
            interviews::interviewer_id.eq(assignment.interviewer_id),
            interviews::note_taker_id.eq(assignment.note_taker_id),
            interviews::scheduled_at.eq(assignment.scheduled_at),
            interviews::mode.eq(assignment.mode),
            interviews::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

// ---- The session ----

pub fn set_status(conn: &mut DbConnection, interview_id: i64, status: &str) -> QueryResult<()> {
    diesel::update(interviews::table.find(interview_id))
        .set((
            interviews::status.eq(status),
            interviews::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn start(conn: &mut DbConnection, interview_id: i64, response_id: i64) -> QueryResult<()> {
    let at = now();
    diesel::update(interviews::table.find(interview_id))
        .set((
            interviews::status.eq("in_progress"),
            interviews::response_id.eq(response_id),
            interviews::started_at.eq(at),
            interviews::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn pause(conn: &mut DbConnection, interview_id: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(interviews::table.find(interview_id))
        .set((
            interviews::status.eq("paused"),
            interviews::paused_at.eq(at),
            interviews::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Back from a pause: the time paused is added up and left out of the clock.
pub fn resume(conn: &mut DbConnection, interview: &Interview) -> QueryResult<()> {
    let at = now();
    let paused = interview
        .paused_at
        .map_or(0, |p| (at - p).num_seconds().max(0));
    diesel::update(interviews::table.find(interview.id))
        .set((
            interviews::status.eq("in_progress"),
            interviews::paused_at.eq(None::<NaiveDateTime>),
            interviews::paused_seconds
                .eq(interview.paused_seconds + i32::try_from(paused).unwrap_or(i32::MAX)),
            interviews::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Ends the interview: a pause still running ends with it.
pub fn complete(
    conn: &mut DbConnection,
    interview: &Interview,
    notes: &FieldNotes,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let paused = interview
        .paused_at
        .map_or(0, |p| (at - p).num_seconds().max(0));
    diesel::update(interviews::table.find(interview.id))
        .set((
            interviews::status.eq("completed"),
            interviews::ended_at.eq(at),
            interviews::paused_at.eq(None::<NaiveDateTime>),
            interviews::paused_seconds
                .eq(interview.paused_seconds + i32::try_from(paused).unwrap_or(i32::MAX)),
            interviews::field_notes.eq(serde_json::to_string(notes).expect("plain data")),
            interviews::updated_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// In studies that anonymise responses, completion drops the interview's link to the notes.
pub fn forget_response(conn: &mut DbConnection, interview_id: i64) -> QueryResult<()> {
    diesel::update(interviews::table.find(interview_id))
        .set(interviews::response_id.eq(None::<i64>))
        .execute(conn)
        .map(|_| ())
}

pub fn set_field_notes(
    conn: &mut DbConnection,
    interview_id: i64,
    notes: &FieldNotes,
) -> QueryResult<()> {
    diesel::update(interviews::table.find(interview_id))
        .set((
            interviews::field_notes.eq(serde_json::to_string(notes).expect("plain data")),
            interviews::updated_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

// ---- Notes ----

/// One question's note as stored, with the revision the next save must name.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoredNote {
    pub question_id: i64,
    #[serde(flatten)]
    pub note: Note,
    pub elapsed_seconds: i32,
    pub revision: i32,
    #[serde(with = "crate::db::utc")]
    pub updated_at: NaiveDateTime,
}

type NoteRow = (i64, String, String, String, i32, i32, NaiveDateTime);

fn stored(row: NoteRow) -> StoredNote {
    let (question_id, answer, notes, status, elapsed_seconds, revision, updated_at) = row;
    StoredNote {
        question_id,
        note: Note {
            notes,
            answer,
            status: QuestionStatus::parse(&status),
        },
        elapsed_seconds,
        revision,
        updated_at,
    }
}

pub fn notes_of(
    conn: &mut DbConnection,
    response_id: i64,
    question_id: Option<i64>,
) -> QueryResult<HashMap<i64, StoredNote>> {
    let mut query = answers::table
        .filter(answers::response_id.eq(response_id))
        .select((
            answers::question_id,
            answers::value,
            answers::notes,
            answers::status,
            answers::elapsed_seconds,
            answers::revision,
            answers::updated_at,
        ))
        .into_boxed();
    if let Some(id) = question_id {
        query = query.filter(answers::question_id.eq(id));
    }
    Ok(query
        .load::<NoteRow>(conn)?
        .into_iter()
        .map(|row| (row.0, stored(row)))
        .collect())
}

/// Stores a note as the given revision (the caller holds the interview's row and has decided it).
pub fn write_note(
    conn: &mut DbConnection,
    response_id: i64,
    question_id: i64,
    note: &Note,
    elapsed_seconds: i32,
    revision: i32,
) -> QueryResult<NaiveDateTime> {
    use diesel::upsert::excluded;
    let at = now();
    let status = note.status.map_or("", QuestionStatus::as_str);
    let row = (
        answers::response_id.eq(response_id),
        answers::question_id.eq(question_id),
        answers::value.eq(note.answer.as_str()),
        answers::skipped.eq(false),
        answers::notes.eq(note.notes.as_str()),
        answers::status.eq(status),
        answers::elapsed_seconds.eq(elapsed_seconds),
        answers::revision.eq(revision),
        answers::updated_at.eq(at),
    );
    on_backend!(conn, |c| diesel::insert_into(answers::table)
        .values(&row)
        .on_conflict((answers::response_id, answers::question_id))
        .do_update()
        .set((
            answers::value.eq(excluded(answers::value)),
            answers::notes.eq(excluded(answers::notes)),
            answers::status.eq(excluded(answers::status)),
            answers::elapsed_seconds.eq(excluded(answers::elapsed_seconds)),
            answers::revision.eq(excluded(answers::revision)),
            answers::updated_at.eq(excluded(answers::updated_at)),
        ))
        .execute(c))?;
    diesel::update(responses::table.find(response_id))
        .set(responses::updated_at.eq(at))
        .execute(conn)?;
    Ok(at)
}

/// The time spent on a question only grows: a resent save with an older clock leaves it.
pub fn add_elapsed(
    conn: &mut DbConnection,
    response_id: i64,
    question_id: i64,
    elapsed_seconds: i32,
) -> QueryResult<()> {
    diesel::update(
        answers::table
            .filter(answers::response_id.eq(response_id))
            .filter(answers::question_id.eq(question_id))
            .filter(answers::elapsed_seconds.lt(elapsed_seconds)),
    )
    .set(answers::elapsed_seconds.eq(elapsed_seconds))
    .execute(conn)
    .map(|_| ())
}

// ---- Moments, follow-ups, edits ----

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = interview_moments)]
pub struct Moment {
    pub id: i64,
    #[serde(skip)]
    pub interview_id: i64,
    /// note, quote or distress.
    pub kind: String,
    pub question_id: Option<i64>,
    /// Seconds into the interview.
    pub elapsed_seconds: i32,
    pub body: String,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
}

pub struct NewMoment<'a> {
    pub interview_id: i64,
    pub client_key: &'a str,
    pub kind: &'a str,
    pub question_id: Option<i64>,
    pub elapsed_seconds: i32,
    pub body: &'a str,
    pub created_by: i64,
}

/// Adds a moment once: the same client key again (a resend) adds nothing.
pub fn insert_moment(conn: &mut DbConnection, new: &NewMoment) -> QueryResult<()> {
    let row = (
        interview_moments::interview_id.eq(new.interview_id),
        interview_moments::client_key.eq(new.client_key),
        interview_moments::kind.eq(new.kind),
        interview_moments::question_id.eq(new.question_id),
        interview_moments::elapsed_seconds.eq(new.elapsed_seconds),
        interview_moments::body.eq(new.body),
        interview_moments::created_by.eq(new.created_by),
        interview_moments::created_at.eq(now()),
    );
    on_backend!(conn, |c| diesel::insert_into(interview_moments::table)
        .values(&row)
        .on_conflict((
            interview_moments::interview_id,
            interview_moments::client_key
        ))
        .do_nothing()
        .execute(c))
    .map(|_| ())
}

pub fn moments_of(conn: &mut DbConnection, interview_id: i64) -> QueryResult<Vec<Moment>> {
    interview_moments::table
        .filter(interview_moments::interview_id.eq(interview_id))
        .select(Moment::as_select())
        .order((interview_moments::elapsed_seconds, interview_moments::id))
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = interview_follow_ups)]
pub struct FollowUp {
    pub id: i64,
    pub interview_id: i64,
    pub assigned_to: i64,
    pub reason: String,
    #[serde(with = "crate::db::utc")]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::db::utc::option")]
    pub done_at: Option<NaiveDateTime>,
}

pub fn insert_follow_up(
    conn: &mut DbConnection,
    interview_id: i64,
    assigned_to: i64,
    reason: &str,
) -> QueryResult<()> {
    diesel::insert_into(interview_follow_ups::table)
        .values((
            interview_follow_ups::interview_id.eq(interview_id),
            interview_follow_ups::assigned_to.eq(assigned_to),
            interview_follow_ups::reason.eq(reason),
            interview_follow_ups::created_at.eq(now()),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Follow-ups of these interviews, open ones first.
pub fn follow_ups_of(conn: &mut DbConnection, interview_ids: &[i64]) -> QueryResult<Vec<FollowUp>> {
    interview_follow_ups::table
        .filter(interview_follow_ups::interview_id.eq_any(interview_ids))
        .select(FollowUp::as_select())
        .order((
            interview_follow_ups::done_at.is_not_null(),
            interview_follow_ups::created_at,
        ))
        .load(conn)
}

/// Marks a follow-up of this interview done; false when there is no such open follow-up.
pub fn finish_follow_up(
    conn: &mut DbConnection,
    interview_id: i64,
    follow_up_id: i64,
    by: i64,
) -> QueryResult<bool> {
    diesel::update(
        interview_follow_ups::table
            .find(follow_up_id)
            .filter(interview_follow_ups::interview_id.eq(interview_id))
            .filter(interview_follow_ups::done_at.is_null()),
    )
    .set((
        interview_follow_ups::done_at.eq(now()),
        interview_follow_ups::done_by.eq(by),
    ))
    .execute(conn)
    .map(|n| n > 0)
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = interview_edits)]
pub struct Edit {
    pub id: i64,
    /// Empty for field notes.
    pub question_id: Option<i64>,
    /// notes, answer or status for a question; the field-notes item otherwise.
    pub field: String,
    pub old_text: String,
    pub new_text: String,
    pub edited_by: i64,
    #[serde(with = "crate::db::utc")]
    pub edited_at: NaiveDateTime,
}

/// Records changes made after completion: (question, field, before, after).
pub fn insert_edits(
    conn: &mut DbConnection,
    interview_id: i64,
    by: i64,
    changes: &[(Option<i64>, &str, String, String)],
) -> QueryResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let at = now();
    let rows: Vec<_> = changes
        .iter()
        .map(|(question_id, field, old, new)| {
            (
                interview_edits::interview_id.eq(interview_id),
                interview_edits::question_id.eq(*question_id),
                interview_edits::field.eq(*field),
                interview_edits::old_text.eq(old.as_str()),
                interview_edits::new_text.eq(new.as_str()),
                interview_edits::edited_by.eq(by),
                interview_edits::edited_at.eq(at),
            )
        })
        .collect();
    on_backend!(conn, |c| diesel::insert_into(interview_edits::table)
        .values(&rows)
        .execute(c))
    .map(|_| ())
}

pub fn edits_of(conn: &mut DbConnection, interview_id: i64) -> QueryResult<Vec<Edit>> {
    interview_edits::table
        .filter(interview_edits::interview_id.eq(interview_id))
        .select(Edit::as_select())
        .order(interview_edits::id.desc())
        .load(conn)
}

/// A participant of the study by code (as people type it: any case): (id, group).
pub fn participant_by_code(
    conn: &mut DbConnection,
    study_id: i64,
    code: &str,
) -> QueryResult<Option<(i64, String)>> {
    participants::table
        .filter(participants::study_id.eq(study_id))
        .filter(participants::code.eq(code.trim().to_uppercase()))
        .select((participants::id, participants::participant_group))
        .first(conn)
        .optional()
}

/// The roster's codes, for the scheduling form's suggestions.
pub fn participant_codes(conn: &mut DbConnection, study_id: i64) -> QueryResult<Vec<String>> {
    participants::table
        .filter(participants::study_id.eq(study_id))
        .select(participants::code)
        .order(participants::code)
        .load(conn)
}
