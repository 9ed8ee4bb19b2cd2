//! What people do with interviews: leads assign them; the interviewer (or note-taker) records verbal
//! consent, takes notes in the live guide, pauses for distress and closes with field notes. Every
//! change re-reads the interview inside its write, holding its row on PostgreSQL.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::queries::{self, Assignment, Edit, FollowUp, Moment, NewMoment, Scheduled, StoredNote};
use super::rules::{
    self, FieldNotes, Mode, MomentKind, Note, QuestionStatus, SaveDecision, Status, SHORT_NOTE_MAX,
};
use crate::audit::{self, Origin};
use crate::db::{now, Db, DbConnection};
use crate::distribution::participants::rules::ParticipantInput;
use crate::error::{AppError, FieldErrors};
use crate::responses::queries::{self as responses, ConsentRecord, NewConsent, NewResponse};
use crate::responses::rules::{information_hash, StatementAnswer};
use crate::state::AppState;
use crate::studies::access::StudyAccess;
use crate::studies::consent::rules::statement_field;
use crate::studies::preview::rules::audience_for;
use crate::studies::preview::rules::{Audience, Preview, PreviewQuestion};
use crate::studies::rules::StudyRole;
use crate::studies::versions::cache::Snapshots;
use crate::studies::versions::rules::Snapshot;
use crate::web::CurrentUser;

/// Leads see every interview of their study; interviewers see their own.
const PEOPLE: &[StudyRole] = &[StudyRole::Lead, StudyRole::Interviewer];
const LEAD: &[StudyRole] = &[StudyRole::Lead];

/// A step that does not fit where the interview is (notes before consent, resuming what is not
/// paused): the page shows where it is instead.
pub const NOT_NOW: AppError = AppError::Forbidden;

/// An interview with the version it asks.
pub struct Loaded {
    pub scheduled: Scheduled,
    pub snapshot: Arc<Snapshot>,
}

impl Loaded {
    pub fn status(&self) -> Status {
        Status::parse(&self.scheduled.interview.status).unwrap_or(Status::Scheduled)
    }

    /// The participant's wording: their group's, or easy read when their needs say so; every
    /// wording while their group is unknown.
    pub fn audience(&self) -> Audience {
        let easy_read = self.scheduled.contact.as_ref().is_some_and(|c| {
            serde_json::from_str::<Vec<String>>(&c.communication_needs)
                .is_ok_and(|needs| needs.iter().any(|n| n == "easy_read"))
        });
        audience_for(&self.scheduled.participant_group, easy_read).unwrap_or(Audience::Interviewer)
    }

    /// Notes can be taken or corrected: under way, or completed while the notes still lead back to
    /// the interview (not after an anonymising study's completion).
    pub fn notes_open(&self) -> bool {
        self.status().takes_notes() && self.scheduled.interview.response_id.is_some()
    }

    pub fn guide(&self) -> Preview {
        rules::guide(&self.snapshot, self.audience())
    }

    pub fn running_seconds(&self) -> i64 {
        let i = &self.scheduled.interview;
        rules::running_seconds(
            i.started_at,
            i.ended_at.unwrap_or_else(now),
            i.paused_at,
            i.paused_seconds,
        )
    }
}

/// An interview as one person sees it, with everything recorded so far.
pub struct Opened {
    pub access: StudyAccess,
    pub loaded: Loaded,
    /// The viewer is its interviewer or note-taker, so may take notes.
    pub takes_notes: bool,
    pub notes: HashMap<i64, StoredNote>,
    pub moments: Vec<Moment>,
    pub follow_ups: Vec<FollowUp>,
    pub edits: Vec<Edit>,
    pub consent: Option<ConsentRecord>,
    /// Display names of the people named on it.
    pub names: HashMap<i64, String>,
}

fn load(
    conn: &mut DbConnection,
    snapshots: &Snapshots,
    study_id: i64,
    interview_id: i64,
    only_for: Option<i64>,
) -> Result<Loaded, AppError> {
    let scheduled = queries::schedule(conn, study_id, only_for, Some(interview_id))?
        .pop()
        .ok_or(AppError::NotFound)?;
    let snapshot = snapshots.get(conn, scheduled.version_id)?;
    Ok(Loaded {
        scheduled,
        snapshot,
    })
}

/// Whose interviews a person sees: all for a lead, their own for an interviewer.
fn seen_by(access: &StudyAccess) -> Option<i64> {
    (!access.me.roles.lead).then_some(access.me.user_id)
}

pub async fn open(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
) -> Result<Opened, AppError> {
    let access = StudyAccess::with_role(&state.db, user, study_id, PEOPLE).await?;
    let (only_for, user_id) = (seen_by(&access), user.id);
    let snapshots = state.caches.get::<Snapshots>();
    let (loaded, notes, moments, follow_ups, edits, consent, names) = state
        .db
        .read(move |conn| {
            let loaded = load(conn, &snapshots, study_id, interview_id, only_for)?;
            let interview = &loaded.scheduled.interview;
            let notes = match interview.response_id {
                Some(id) => queries::notes_of(conn, id, None)?,
                None => HashMap::new(),
            };
            let moments = queries::moments_of(conn, interview_id)?;
            let follow_ups = queries::follow_ups_of(conn, &[interview_id])?;
            let edits = queries::edits_of(conn, interview_id)?;
            let consent = responses::latest_consent(conn, interview.participation_id)?;
            let mut people: Vec<i64> = [Some(interview.interviewer_id), interview.note_taker_id]
                .into_iter()
                .flatten()
                .chain(edits.iter().map(|e| e.edited_by))
                .chain(follow_ups.iter().map(|f| f.assigned_to))
                .chain(consent.as_ref().and_then(|c| c.recorded_by))
                .collect();
            people.sort_unstable();
            people.dedup();
            let names = queries::names(conn, &people)?;
            Ok::<_, AppError>((loaded, notes, moments, follow_ups, edits, consent, names))
        })
        .await?;
    Ok(Opened {
        takes_notes: loaded.scheduled.interview.is_taken_by(user_id),
        access,
        loaded,
        notes,
        moments,
        follow_ups,
        edits,
        consent,
        names,
    })
}

/// Runs `change` on the interview as it stands, inside one write; only its interviewer or note-taker
/// may.
async fn changing<T, F>(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
    change: F,
) -> Result<T, AppError>
where
    F: FnOnce(&mut DbConnection, Loaded) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let access = StudyAccess::with_role(&state.db, user, study_id, PEOPLE).await?;
    let (only_for, user_id) = (seen_by(&access), user.id);
    let snapshots = state.caches.get::<Snapshots>();
    state
        .db
        .write(move |conn| {
            queries::lock(conn, interview_id)?;
            let loaded = load(conn, &snapshots, study_id, interview_id, only_for)?;
            if !loaded.scheduled.interview.is_taken_by(user_id) {
                return Err(AppError::Forbidden);
            }
            change(conn, loaded)
        })
        .await
}

// ---- The schedule ----

/// The study's interviews a person sees, with open follow-ups, and the names of the people on them.
pub struct Schedule {
    pub access: StudyAccess,
    pub interviews: Vec<Scheduled>,
    pub follow_ups: Vec<FollowUp>,
    pub names: HashMap<i64, String>,
}

/// Records that these interviews were shown with their participants' contact details (a lead's whole
/// schedule, or an interviewer's own), by code: the one rule (`Roles::identities`) decided who got them.
pub async fn audit_contacts_shown(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    shown: &[&Scheduled],
    via: &str,
) -> Result<(), AppError> {
    let codes: Vec<&str> = shown
        .iter()
        .filter(|s| s.contact.is_some())
        .map(|s| s.participant_code.as_str())
        .collect();
    if codes.is_empty() {
        return Ok(());
    }
    let details = serde_json::json!({ "participants": codes, "via": via });
    audit::looked(db, origin, "identities_viewed", Some(study_id), details).await
}

pub async fn schedule(db: &Db, user: &CurrentUser, study_id: i64) -> Result<Schedule, AppError> {
    let access = StudyAccess::with_role(db, user, study_id, PEOPLE).await?;
    let only_for = seen_by(&access);
    let (interviews, follow_ups, names) = db
        .read(move |conn| {
            let interviews = queries::schedule(conn, study_id, only_for, None)?;
            let ids: Vec<i64> = interviews.iter().map(|s| s.interview.id).collect();
            let follow_ups = queries::follow_ups_of(conn, &ids)?;
            let mut people: Vec<i64> = interviews
                .iter()
                .flat_map(|s| [Some(s.interview.interviewer_id), s.interview.note_taker_id])
                .flatten()
                .collect();
            people.sort_unstable();
            people.dedup();
            let names = queries::names(conn, &people)?;
            Ok::<_, AppError>((interviews, follow_ups, names))
        })
        .await?;
    Ok(Schedule {
        access,
        interviews,
        follow_ups,
        names,
    })
}

/// What assigning an interview needs, as a page or the API sends it: text until checked.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AssignInput {
    /// The participant's code on the roster (P-0012); leave empty and give `new_participant` to add
    /// someone met on the spot.
    pub participant_code: String,
    pub new_participant: Option<ParticipantInput>,
    /// The published questionnaire version to ask.
    pub version_id: String,
    /// The interviewer's account id: a study member with the interviewer role.
    pub interviewer_id: String,
    /// A second member who takes notes; empty for none.
    pub note_taker_id: String,
    /// YYYY-MM-DD.
    pub date: String,
    /// HH:MM, 24-hour clock.
    pub time: String,
    /// in_person, phone or video.
    pub mode: String,
}

/// The options the assignment form offers.
#[derive(Debug, Clone, Serialize)]
pub struct AssignChoices {
    pub interviewers: Vec<(i64, String)>,
    pub versions: Vec<crate::distribution::campaigns::queries::SendableVersion>,
    pub codes: Vec<String>,
    pub service_areas: Vec<String>,
}

pub async fn assign_choices(db: &Db, study_id: i64) -> Result<AssignChoices, AppError> {
    db.read(move |conn| {
        Ok(AssignChoices {
            interviewers: queries::interviewers(conn, study_id)?,
            versions: crate::distribution::campaigns::queries::sendable_versions(conn, study_id)?,
            codes: queries::participant_codes(conn, study_id)?,
            service_areas: crate::distribution::participants::queries::service_areas(
                conn, study_id,
            )?,
        })
    })
    .await
}

/// Checks everything but the participant: who, when, how, which version.
fn checked_assignment(
    conn: &mut DbConnection,
    study_id: i64,
    input: &AssignInput,
    errors: &mut FieldErrors,
) -> Result<Option<(Assignment, i64, i64)>, AppError> {
    let interviewers = queries::interviewers(conn, study_id)?;
    let member = |text: &str| {
        text.trim()
            .parse::<i64>()
            .ok()
            .filter(|id| interviewers.iter().any(|(i, _)| i == id))
    };
    let interviewer = member(&input.interviewer_id);
    if interviewer.is_none() {
        errors.insert(
            "interviewer_id".into(),
            "Choose the interviewer: a study member with the interviewer role".into(),
        );
    }
    let note_taker = if input.note_taker_id.trim().is_empty() {
        Some(None)
    } else {
        match member(&input.note_taker_id) {
            Some(id) if Some(id) == interviewer => {
                errors.insert(
                    "note_taker_id".into(),
                    "The note-taker must be someone other than the interviewer".into(),
                );
                None
            }
            Some(id) => Some(Some(id)),
            None => {
                errors.insert(
                    "note_taker_id".into(),
                    "Choose a note-taker with the interviewer role, or no note-taker".into(),
                );
                None
            }
        }
    };
    let versions = crate::distribution::campaigns::queries::sendable_versions(conn, study_id)?;
    let version = input
        .version_id
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|id| versions.iter().find(|v| v.version_id == id));
    if version.is_none() {
        errors.insert(
            "version_id".into(),
            "Choose a published version of a questionnaire".into(),
        );
    }
    let date = crate::web::dates::parse_day(&input.date);
    if date.is_none() {
        errors.insert(
            "date".into(),
            format!(
                "Enter a real date, for example {}",
                crate::web::dates::EXAMPLE
            ),
        );
    }
    let time = NaiveTime::parse_from_str(input.time.trim(), "%H:%M").ok();
    if time.is_none() {
        errors.insert(
            "time".into(),
            "Enter the time on the 24-hour clock, for example 14:30".into(),
        );
    }
    let mode = Mode::parse(&input.mode);
    if mode.is_none() {
        errors.insert(
            "mode".into(),
            format!("Choose how the interview takes place: {}", Mode::choices()),
        );
    }
    Ok(match (interviewer, note_taker, version, date, time, mode) {
        (Some(interviewer_id), Some(note_taker_id), Some(v), Some(d), Some(t), Some(mode)) => {
            Some((
                Assignment {
                    interviewer_id,
                    note_taker_id,
                    scheduled_at: NaiveDateTime::new(d, t),
                    mode: mode.as_str(),
                },
                v.questionnaire_id,
                v.version_id,
            ))
        }
        _ => None,
    })
}

/// A lead assigns an interview: to a participant on the roster, or to one added now with a new code.
pub async fn assign(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    input: AssignInput,
) -> Result<i64, AppError> {
    StudyAccess::with_role(db, user, study_id, LEAD).await?;
    let (origin, user_id) = (origin.clone(), user.id);
    db.write(move |conn| {
        let mut errors = FieldErrors::new();
        let checked = checked_assignment(conn, study_id, &input, &mut errors)?;
        let existing = if input.participant_code.trim().is_empty() {
            if input.new_participant.is_none() {
                errors.insert(
                    "participant_code".into(),
                    "Enter the participant's code, or add a new participant".into(),
                );
            }
            None
        } else {
            let found = queries::participant_by_code(conn, study_id, &input.participant_code)?;
            match &found {
                None => {
                    errors.insert(
                        "participant_code".into(),
                        "There is no participant with this code in the study: check it, or add a new participant".into(),
                    );
                }
                Some((_, group)) if group.is_empty() => {
                    errors.insert(
                        "participant_code".into(),
                        "This participant's group is not known yet: set it on the roster first, so the guide uses their wording".into(),
                    );
                }
                Some(_) => {}
            }
            found
        };
        let (Some((assignment, questionnaire_id, version_id)), true) = (checked, errors.is_empty())
        else {
            return Err(AppError::Invalid(errors));
        };
        let participant_id = match (existing, &input.new_participant) {
            (Some((id, _)), _) => id,
            (None, Some(new)) => {
                crate::distribution::participants::actions::add_in(
                    conn, &origin, study_id, new, "interview",
                )?
                .0
            }
            (None, None) => return Err(AppError::Invalid(errors)),
        };
        let participation_id = match queries::participation(conn, participant_id, questionnaire_id)? {
            Some((_, true)) => {
                return Err(AppError::invalid(
                    "participant_code",
                    "This participant has already started this questionnaire or has an interview for it",
                ))
            }
            Some((id, false)) => {
                // The interview replaces any invitation to answer online: its link stops working
                // and its reminders are not sent.
                queries::set_participation_version(conn, id, version_id)?;
                crate::distribution::links::queries::revoke_respond_tokens(conn, id)?;
                crate::distribution::links::queries::cancel_emails_for_interview(conn, id)?;
                id
            }
            None => queries::insert_participation(conn, participant_id, questionnaire_id, version_id)?,
        };
        let id = queries::insert(conn, study_id, participation_id, &assignment, user_id)?;
        audit::record(
            conn,
            &origin,
            "interview.assigned",
            "interview",
            Some(id),
            json!({
                "study_id": study_id, "version_id": version_id,
                "interviewer_id": assignment.interviewer_id, "note_taker_id": assignment.note_taker_id,
                "mode": assignment.mode,
            }),
        )?;
        Ok(id)
    })
    .await
}

/// A lead changes who, when or how; the participant and version stay (cancel and assign again to
/// change them).
pub async fn reassign(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
    input: AssignInput,
) -> Result<(), AppError> {
    StudyAccess::with_role(db, user, study_id, LEAD).await?;
    let origin = origin.clone();
    db.write(move |conn| {
        queries::lock(conn, interview_id)?;
        let scheduled = queries::schedule(conn, study_id, None, Some(interview_id))?
            .pop()
            .ok_or(AppError::NotFound)?;
        let input = AssignInput {
            version_id: scheduled.version_id.to_string(),
            ..input
        };
        let mut errors = FieldErrors::new();
        let Some((assignment, _, _)) = checked_assignment(conn, study_id, &input, &mut errors)?
        else {
            return Err(AppError::Invalid(errors));
        };
        queries::reassign(conn, interview_id, &assignment)?;
        audit::record(
            conn,
            &origin,
            "interview.reassigned",
            "interview",
            Some(interview_id),
            json!({
                "study_id": study_id, "interviewer_id": assignment.interviewer_id,
                "note_taker_id": assignment.note_taker_id, "mode": assignment.mode,
            }),
        )
        .map_err(AppError::from)
    })
    .await
}

/// A lead cancels an interview that has not started.
pub async fn cancel(
    db: &Db,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
) -> Result<(), AppError> {
    StudyAccess::with_role(db, user, study_id, LEAD).await?;
    let origin = origin.clone();
    db.write(move |conn| {
        queries::lock(conn, interview_id)?;
        let scheduled = queries::schedule(conn, study_id, None, Some(interview_id))?
            .pop()
            .ok_or(AppError::NotFound)?;
        match Status::parse(&scheduled.interview.status) {
            Some(Status::Cancelled) => return Ok(()),
            Some(Status::Scheduled) => {}
            _ => return Err(NOT_NOW),
        }
        queries::set_status(conn, interview_id, Status::Cancelled.as_str())?;
        audit::record(
            conn,
            &origin,
            "interview.cancelled",
            "interview",
            Some(interview_id),
            json!({ "study_id": study_id }),
        )
        .map_err(AppError::from)
    })
    .await
}

// ---- Verbal consent ----

/// The answers read back for each statement (None: not recorded), and the interviewer's attestation.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct VerbalConsent {
    /// One per statement, in order: true (yes), false (no).
    pub answers: Vec<Option<bool>>,
    /// "I read the information and each statement aloud, and recorded the answers as given."
    pub attested: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentOutcome {
    Consented,
    Declined,
}

pub const ATTEST_FIELD: &str = "attested";

/// Records verbal consent statement by statement. A required statement answered "no" ends the
/// interview with only the decision stored. Recording twice (a double click) records once.
pub async fn record_consent(
    state: &AppState,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
    consent: VerbalConsent,
) -> Result<ConsentOutcome, AppError> {
    let (origin, user_id) = (origin.clone(), user.id);
    changing(state, user, study_id, interview_id, move |conn, loaded| {
        match loaded.status() {
            Status::Scheduled => {}
            Status::Declined => return Ok(ConsentOutcome::Declined),
            Status::Cancelled => return Err(NOT_NOW),
            _ => return Ok(ConsentOutcome::Consented),
        }
        let statements = &loaded.snapshot.information.consent_statements;
        let mut errors = FieldErrors::new();
        let answers: Vec<StatementAnswer> = statements
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match consent.answers.get(i).copied().flatten() {
                Some(agreed) => Some(StatementAnswer {
                    text: s.text.clone(),
                    required: s.required,
                    agreed,
                }),
                None => {
                    errors.insert(
                        statement_field(i),
                        "Record the participant\u{2019}s answer to this statement: yes or no"
                            .into(),
                    );
                    None
                }
            })
            .collect();
        if !consent.attested {
            errors.insert(
                ATTEST_FIELD.into(),
                "Confirm that you read the information and each statement aloud".into(),
            );
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let consented = answers.iter().all(|a| a.agreed || !a.required);
        let s = &loaded.scheduled;
        let record = responses::insert_consent(
            conn,
            &NewConsent {
                participation_id: s.interview.participation_id,
                version_id: s.version_id,
                information_hash: &information_hash(&loaded.snapshot.information),
                statements: &answers,
                consented,
                recorded_by: Some(user_id),
            },
        )?;
        if consented {
            responses::mark_consented(conn, s.interview.participation_id)?;
            let person = responses::person(conn, s.participant_id)?;
            let response_id = responses::insert_response(
                conn,
                &NewResponse {
                    participation_id: s.interview.participation_id,
                    participant_id: s.participant_id,
                    study_id,
                    questionnaire_id: s.questionnaire_id,
                    version_id: s.version_id,
                    mode: "interview",
                    audience: loaded.audience().as_str(),
                    person: &person,
                },
            )?;
            queries::start(conn, interview_id, response_id)?;
        } else {
            responses::mark_declined(conn, s.interview.participation_id)?;
            queries::set_status(conn, interview_id, Status::Declined.as_str())?;
        }
        audit::record(
            conn,
            &origin,
            if consented {
                "interview.consent_recorded"
            } else {
                "interview.consent_declined"
            },
            "consent_record",
            Some(record.id),
            json!({
                "study_id": study_id, "interview_id": interview_id,
                "code": s.participant_code, "revision": record.revision, "method": record.method,
            }),
        )?;
        Ok(if consented {
            ConsentOutcome::Consented
        } else {
            ConsentOutcome::Declined
        })
    })
    .await
}

// ---- Notes ----

/// One question's note as a page or the autosave sends it, with the revision its sender last saw.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct NoteSave {
    #[serde(skip)]
    pub question_id: i64,
    pub notes: String,
    /// The structured answer, for questions that have one: a label, or labels one per line.
    pub answer: String,
    /// asked, skipped, declined, out_of_time, or empty.
    pub status: String,
    /// Seconds spent on the question so far, as the interviewer's screen counted them.
    pub elapsed_seconds: Option<i32>,
    /// The revision this note had when its sender last loaded or saved it (0 for none).
    pub revision: i32,
}

/// What became of one question's save.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum SaveOutcome {
    /// Stored as this revision.
    Saved {
        revision: i32,
        #[serde(with = "crate::db::utc")]
        saved_at: NaiveDateTime,
    },
    /// Already stored exactly so (a resent save).
    Unchanged {
        revision: i32,
        #[serde(with = "crate::db::utc")]
        saved_at: NaiveDateTime,
    },
    /// Someone saved other notes since this sender last saw them: both are given, neither is lost.
    Conflict { stored: StoredNote, yours: Note },
    /// The note cannot be stored as it is.
    Invalid { message: String },
}

/// Saves notes for questions of the interview, each against the revision its sender saw. Notes
/// changed after completion keep their before and after.
pub async fn save_notes(
    state: &AppState,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
    saves: Vec<NoteSave>,
) -> Result<Vec<(i64, SaveOutcome)>, AppError> {
    let (origin, user_id) = (origin.clone(), user.id);
    changing(state, user, study_id, interview_id, move |conn, loaded| {
        if !loaded.notes_open() {
            return Err(NOT_NOW);
        }
        let completed = loaded.status() == Status::Completed;
        let response_id = loaded.scheduled.interview.response_id.ok_or(NOT_NOW)?;
        let guide = loaded.guide();
        let questions: HashMap<i64, &PreviewQuestion> = guide
            .sections
            .iter()
            .flat_map(|s| &s.questions)
            .map(|q| (q.id, q))
            .collect();
        let ids: Vec<i64> = saves.iter().map(|s| s.question_id).collect();
        let mut stored = if let [only] = ids[..] {
            queries::notes_of(conn, response_id, Some(only))?
        } else {
            queries::notes_of(conn, response_id, None)?
        };
        let mut outcomes = Vec::with_capacity(saves.len());
        let mut edits: Vec<(Option<i64>, &str, String, String)> = Vec::new();
        for save in saves {
            let id = save.question_id;
            let Some(question) = questions.get(&id) else {
                outcomes.push((
                    id,
                    SaveOutcome::Invalid {
                        message: "This question is not in the interview\u{2019}s guide".into(),
                    },
                ));
                continue;
            };
            let status = if save.status.trim().is_empty() {
                None
            } else {
                match QuestionStatus::parse(&save.status) {
                    Some(s) => Some(s),
                    None => {
                        outcomes.push((
                            id,
                            SaveOutcome::Invalid {
                                message: format!(
                                    "Choose what happened to the question: {}",
                                    QuestionStatus::choices()
                                ),
                            },
                        ));
                        continue;
                    }
                }
            };
            let note = match rules::check_note(question, save.notes, &save.answer, status) {
                Ok(note) => note,
                Err(message) => {
                    outcomes.push((id, SaveOutcome::Invalid { message }));
                    continue;
                }
            };
            let current = stored.get(&id);
            let elapsed = save.elapsed_seconds.unwrap_or(0).max(0);
            match rules::decide_save(current.map(|c| (&c.note, c.revision)), &note, save.revision) {
                SaveDecision::Unchanged => {
                    if let Some(current) = current {
                        if elapsed > current.elapsed_seconds {
                            queries::add_elapsed(conn, response_id, id, elapsed)?;
                        }
                    }
                    outcomes.push((
                        id,
                        SaveOutcome::Unchanged {
                            revision: current.map_or(0, |c| c.revision),
                            saved_at: current.map_or_else(now, |c| c.updated_at),
                        },
                    ));
                }
                SaveDecision::Write { revision } => {
                    let elapsed = elapsed.max(current.map_or(0, |c| c.elapsed_seconds));
                    let at = queries::write_note(conn, response_id, id, &note, elapsed, revision)?;
                    if completed {
                        let before = current.map(|c| c.note.clone()).unwrap_or_default();
                        edits.extend(note_changes(id, &before, &note));
                    }
                    stored.insert(
                        id,
                        StoredNote {
                            question_id: id,
                            note,
                            elapsed_seconds: elapsed,
                            revision,
                            updated_at: at,
                        },
                    );
                    outcomes.push((
                        id,
                        SaveOutcome::Saved {
                            revision,
                            saved_at: at,
                        },
                    ));
                }
                SaveDecision::Conflict => {
                    let stored = current.cloned().unwrap_or_else(|| StoredNote {
                        question_id: id,
                        note: Note::default(),
                        elapsed_seconds: 0,
                        revision: 0,
                        updated_at: now(),
                    });
                    outcomes.push((
                        id,
                        SaveOutcome::Conflict {
                            stored,
                            yours: note,
                        },
                    ));
                }
            }
        }
        if !edits.is_empty() {
            let fields: Vec<String> = edits
                .iter()
                .map(|(q, f, _, _)| format!("{}:{f}", q.unwrap_or(0)))
                .collect();
            queries::insert_edits(conn, interview_id, user_id, &edits)?;
            audit::record(
                conn,
                &origin,
                "interview.notes_edited",
                "interview",
                Some(interview_id),
                json!({ "study_id": study_id, "changed": fields }),
            )?;
        }
        Ok(outcomes)
    })
    .await
}

/// Which parts of a note changed: (question, field, before, after).
fn note_changes(
    question_id: i64,
    before: &Note,
    after: &Note,
) -> Vec<(Option<i64>, &'static str, String, String)> {
    let status = |n: &Note| n.status.map_or("", QuestionStatus::as_str).to_string();
    [
        ("notes", before.notes.clone(), after.notes.clone()),
        ("answer", before.answer.clone(), after.answer.clone()),
        ("status", status(before), status(after)),
    ]
    .into_iter()
    .filter(|(_, b, a)| b != a)
    .map(|(field, b, a)| (Some(question_id), field, b, a))
    .collect()
}

// ---- Moments, distress, closing ----

/// A quick note or a flagged quote.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(default)]
pub struct MomentInput {
    /// note or quote.
    pub kind: String,
    pub body: String,
    /// The question it belongs to, if any.
    pub question_id: Option<i64>,
    /// Seconds into the interview when it was written (the server's clock when left out).
    pub elapsed_seconds: Option<i32>,
    /// Made up by the sender, unique per note: a resend with the same key is kept once.
    pub client_key: String,
}

pub async fn add_moment(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
    input: MomentInput,
) -> Result<(), AppError> {
    let user_id = user.id;
    changing(state, user, study_id, interview_id, move |conn, loaded| {
        if !loaded.status().takes_notes() {
            return Err(NOT_NOW);
        }
        let mut errors = FieldErrors::new();
        let kind = MomentKind::parse(&input.kind).filter(|k| *k != MomentKind::Distress);
        if kind.is_none() {
            errors.insert("kind".into(), "Choose a quick note or a quote".into());
        }
        let body = input.body.trim();
        if body.is_empty() {
            errors.insert("body".into(), "Write the note or the quote".into());
        } else if body.chars().count() > SHORT_NOTE_MAX {
            errors.insert(
                "body".into(),
                "A quick note can be up to 5,000 characters: put longer notes under the question"
                    .into(),
            );
        }
        let key = input.client_key.trim();
        if key.is_empty() || key.len() > 100 {
            errors.insert(
                "client_key".into(),
                "Send a key of up to 100 characters that is unique to this note".into(),
            );
        }
        let (Some(kind), true) = (kind, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let elapsed = input
            .elapsed_seconds
            .map_or_else(|| loaded.running_seconds(), i64::from)
            .max(0);
        queries::insert_moment(
            conn,
            &NewMoment {
                interview_id,
                client_key: key,
                kind: kind.as_str(),
                question_id: input.question_id,
                elapsed_seconds: i32::try_from(elapsed).unwrap_or(i32::MAX),
                body,
                created_by: user_id,
            },
        )?;
        Ok(())
    })
    .await
}

/// The distress button: the interview pauses, the moment is noted, and the interviewer gets a task to
/// follow up with the participant. Pressing it again while paused changes nothing.
pub async fn distress(
    state: &AppState,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
) -> Result<(), AppError> {
    let (origin, user_id) = (origin.clone(), user.id);
    changing(state, user, study_id, interview_id, move |conn, loaded| {
        match loaded.status() {
            Status::InProgress => {}
            Status::Paused => return Ok(()),
            _ => return Err(NOT_NOW),
        }
        let at = now();
        let elapsed = i32::try_from(loaded.running_seconds()).unwrap_or(i32::MAX);
        queries::pause(conn, interview_id, at)?;
        queries::insert_moment(
            conn,
            &NewMoment {
                interview_id,
                client_key: &format!("distress-{}", at.and_utc().timestamp_micros()),
                kind: MomentKind::Distress.as_str(),
                question_id: None,
                elapsed_seconds: elapsed,
                body: "Paused for the participant\u{2019}s wellbeing",
                created_by: user_id,
            },
        )?;
        let s = &loaded.scheduled;
        queries::insert_follow_up(
            conn,
            interview_id,
            s.interview.interviewer_id,
            &format!(
                "Check on {} after the distress pause at {} ({} into the interview), and offer the support in the study\u{2019}s signposting",
                s.participant_code,
                at.format("%H:%M on %-d %B %Y"),
                rules::duration_words(i64::from(elapsed)),
            ),
        )?;
        audit::record(
            conn,
            &origin,
            "interview.distress_pause",
            "interview",
            Some(interview_id),
            json!({ "study_id": study_id }),
        ).map_err(AppError::from)
    })
    .await
}

pub async fn resume(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
) -> Result<(), AppError> {
    changing(
        state,
        user,
        study_id,
        interview_id,
        move |conn, loaded| match loaded.status() {
            Status::Paused => Ok(queries::resume(conn, &loaded.scheduled.interview)?),
            Status::InProgress => Ok(()),
            _ => Err(NOT_NOW),
        },
    )
    .await
}

/// Completes the interview with its field notes; after completion, changes the field notes and keeps
/// the before and after.
pub async fn close(
    state: &AppState,
    origin: &Origin,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
    notes: FieldNotes,
) -> Result<(), AppError> {
    let (origin, user_id) = (origin.clone(), user.id);
    changing(state, user, study_id, interview_id, move |conn, loaded| {
        let notes = notes.check().map_err(AppError::Invalid)?;
        let interview = &loaded.scheduled.interview;
        match loaded.status() {
            Status::InProgress | Status::Paused => {
                let at = now();
                queries::complete(conn, interview, &notes, at)?;
                responses::mark_completed(conn, interview.participation_id, at)?;
                let (anonymise, _) = responses::study_terms(conn, study_id)?;
                if let Some(response) = responses::response_of(conn, interview.participation_id)? {
                    responses::submit(conn, &response, at, anonymise)?;
                }
                if anonymise {
                    // As for online answers: the notes no longer lead back to the person, so they
                    // cannot be corrected from the interview any more.
                    queries::forget_response(conn, interview_id)?;
                }
                audit::record(
                    conn,
                    &origin,
                    "interview.completed",
                    "interview",
                    Some(interview_id),
                    json!({ "study_id": study_id }),
                )
                .map_err(AppError::from)
            }
            Status::Completed => {
                let changes = interview.field_notes().changes(&notes);
                if changes.is_empty() {
                    return Ok(());
                }
                queries::set_field_notes(conn, interview_id, &notes)?;
                let fields: Vec<&str> = changes.iter().map(|(f, _, _)| *f).collect();
                let edits: Vec<(Option<i64>, &str, String, String)> = changes
                    .into_iter()
                    .map(|(field, before, after)| (None, field, before, after))
                    .collect();
                queries::insert_edits(conn, interview_id, user_id, &edits)?;
                audit::record(
                    conn,
                    &origin,
                    "interview.field_notes_edited",
                    "interview",
                    Some(interview_id),
                    json!({ "study_id": study_id, "changed": fields }),
                )
                .map_err(AppError::from)
            }
            _ => Err(NOT_NOW),
        }
    })
    .await
}

pub async fn finish_follow_up(
    state: &AppState,
    user: &CurrentUser,
    study_id: i64,
    interview_id: i64,
    follow_up_id: i64,
) -> Result<(), AppError> {
    let user_id = user.id;
    changing(state, user, study_id, interview_id, move |conn, _| {
        // Done already is fine (a second press); a follow-up this interview does not have is not.
        if queries::finish_follow_up(conn, interview_id, follow_up_id, user_id)?
            || queries::follow_ups_of(conn, &[interview_id])?
                .iter()
                .any(|f| f.id == follow_up_id)
        {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    })
    .await
}
