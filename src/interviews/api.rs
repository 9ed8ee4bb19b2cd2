//! Interviews in the JSON API: assignments (leads), and for the interviewer and note-taker the session
//! itself: verbal consent, versioned note saves (the live guide's autosave uses these), moments,
//! distress pause, field notes and follow-ups. Leads read every interview; interviewers their own.

use actix_web::{get, patch, post, put, web, HttpResponse};
use chrono::NaiveDateTime;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::actions::{
    self, AssignInput, ConsentOutcome, MomentInput, NoteSave, Opened, SaveOutcome, VerbalConsent,
};
use super::queries::{Edit, FollowUp, Interview, Moment, Scheduled, StoredNote};
use super::rules::FieldNotes;
use crate::audit::Origin;
use crate::error::AppError;
use crate::error::{ErrorBody, ErrorDetail};
use crate::responses::queries::ConsentRecord;
use crate::state::AppState;
use crate::studies::preview::rules::Preview;
use crate::web::CurrentUser;

pub fn routes<C: crate::web::ApiRoutes>(cfg: &mut C) {
    cfg.service(list_interviews)
        .service(assign_interview)
        .service(get_interview)
        .service(change_interview)
        .service(cancel_interview)
        .service(record_consent)
        .service(save_note)
        .service(add_moment)
        .service(pause_for_distress)
        .service(resume_interview)
        .service(save_field_notes)
        .service(finish_follow_up);
}

/// Who a participant is: only for leads and the interview's own interviewer and note-taker.
#[derive(Serialize, ToSchema)]
pub struct ContactView {
    pub name: String,
    pub phone: String,
    pub communication_needs: Vec<String>,
    pub preferred_mode: String,
}

#[derive(Serialize, ToSchema)]
pub struct InterviewView {
    #[serde(flatten)]
    pub interview: Interview,
    pub participant_code: String,
    pub participant_group: String,
    pub service_area: String,
    pub system_level: String,
    pub questionnaire_id: i64,
    pub questionnaire_title: String,
    pub version_id: i64,
    pub version_number: i32,
    pub contact: Option<ContactView>,
}

impl From<Scheduled> for InterviewView {
    fn from(s: Scheduled) -> Self {
        InterviewView {
            contact: s.contact.map(|c| ContactView {
                communication_needs: serde_json::from_str(&c.communication_needs)
                    .unwrap_or_default(),
                name: c.name,
                phone: c.phone,
                preferred_mode: c.preferred_mode,
            }),
            interview: s.interview,
            participant_code: s.participant_code,
            participant_group: s.participant_group,
            service_area: s.service_area,
            system_level: s.system_level,
            questionnaire_id: s.questionnaire_id,
            questionnaire_title: s.questionnaire_title,
            version_id: s.version_id,
            version_number: s.version_number,
        }
    }
}

/// The study's interviews: all for leads, their own for interviewers.
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id")),
    responses((status = 200, body = Vec<InterviewView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/interviews")]
async fn list_interviews(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<i64>,
) -> Result<web::Json<Vec<InterviewView>>, AppError> {
    let schedule = actions::schedule(&state.db, &user, path.into_inner()).await?;
    let shown: Vec<_> = schedule.interviews.iter().collect();
    actions::audit_contacts_shown(
        &state.db,
        &origin.by(user.id),
        schedule.access.study.id,
        &shown,
        "api",
    )
    .await?;
    Ok(web::Json(
        schedule.interviews.into_iter().map(Into::into).collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: i64,
}

/// Assigns an interview (leads): a roster participant by code, or `new_participant` added with a new
/// code; the interviewer and any note-taker must hold the interviewer role.
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id")),
    request_body = AssignInput,
    responses((status = 201, body = Created), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/interviews")]
async fn assign_interview(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<i64>,
    body: web::Json<AssignInput>,
) -> Result<HttpResponse, AppError> {
    let id = actions::assign(
        &state.db,
        &origin.by(user.id),
        &user,
        path.into_inner(),
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Created().json(Created { id }))
}

#[derive(Serialize, ToSchema)]
pub struct InterviewDetail {
    #[serde(flatten)]
    pub scheduled: InterviewView,
    /// Seconds of interview so far, leaving out pauses.
    pub running_seconds: i64,
    /// The questions in the participant's wording, with probes.
    pub guide: Preview,
    pub notes: Vec<StoredNote>,
    pub moments: Vec<Moment>,
    pub follow_ups: Vec<FollowUp>,
    pub field_notes: FieldNotes,
    /// Changes made after completion, newest first.
    pub edits: Vec<Edit>,
    pub consent: Option<ConsentRecord>,
}

impl From<Opened> for InterviewDetail {
    fn from(opened: Opened) -> Self {
        let running_seconds = opened.loaded.running_seconds();
        let guide = opened.loaded.guide();
        let field_notes = opened.loaded.scheduled.interview.field_notes();
        let mut notes: Vec<StoredNote> = opened.notes.into_values().collect();
        notes.sort_by_key(|n| n.question_id);
        InterviewDetail {
            scheduled: opened.loaded.scheduled.into(),
            running_seconds,
            guide,
            notes,
            moments: opened.moments,
            follow_ups: opened.follow_ups,
            field_notes,
            edits: opened.edits,
            consent: opened.consent,
        }
    }
}

/// One interview with its guide, notes (each with the revision a save must name), moments,
/// follow-ups, field notes, later edits and consent record.
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id"), ("interview_id" = i64, Path, description = "Interview id")),
    responses((status = 200, body = InterviewDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[get("/studies/{id}/interviews/{interview_id}")]
async fn get_interview(
    user: CurrentUser,
    state: web::Data<AppState>,
    origin: Origin,
    path: web::Path<(i64, i64)>,
) -> Result<web::Json<InterviewDetail>, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let opened = actions::open(&state, &user, study_id, interview_id).await?;
    actions::audit_contacts_shown(
        &state.db,
        &origin.by(user.id),
        study_id,
        &[&opened.loaded.scheduled],
        "api",
    )
    .await?;
    Ok(web::Json(opened.into()))
}

/// Changes the interviewer, note-taker, time or mode (leads); the participant and version stay.
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id"), ("interview_id" = i64, Path, description = "Interview id")),
    request_body = AssignInput,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[patch("/studies/{id}/interviews/{interview_id}")]
async fn change_interview(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<AssignInput>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    actions::reassign(
        &state.db,
        &origin.by(user.id),
        &user,
        study_id,
        interview_id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Cancels an interview that has not started (leads).
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id"), ("interview_id" = i64, Path, description = "Interview id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/interviews/{interview_id}/cancel")]
async fn cancel_interview(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    actions::cancel(
        &state.db,
        &origin.by(user.id),
        &user,
        study_id,
        interview_id,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct ConsentResult {
    pub outcome: ConsentOutcome,
}

/// Records verbal consent (the interviewer or note-taker): each statement's answer as read out and
/// given, and the attestation. A required statement answered no ends the interview.
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id"), ("interview_id" = i64, Path, description = "Interview id")),
    request_body = VerbalConsent,
    responses((status = 200, body = ConsentResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/interviews/{interview_id}/consent")]
async fn record_consent(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<VerbalConsent>,
) -> Result<web::Json<ConsentResult>, AppError> {
    let (study_id, interview_id) = path.into_inner();
    let outcome = actions::record_consent(
        &state,
        &origin.by(user.id),
        &user,
        study_id,
        interview_id,
        body.into_inner(),
    )
    .await?;
    Ok(web::Json(ConsentResult { outcome }))
}

#[derive(Serialize, ToSchema)]
pub struct NoteSaved {
    /// The revision to name in the next save.
    pub revision: i32,
    #[serde(with = "crate::db::utc")]
    pub saved_at: NaiveDateTime,
    /// False when exactly this note was already stored (a resent save).
    pub changed: bool,
}

/// The 409 answer: the error, and both notes so neither is lost.
#[derive(Serialize, ToSchema)]
pub struct NoteConflict {
    pub error: ErrorDetail,
    /// What is stored now, with its revision.
    pub stored: StoredNote,
    /// What this save sent.
    pub yours: crate::interviews::rules::Note,
}

/// Saves one question's notes, answer and status against the revision the sender last saw. The same
/// note again succeeds without change (safe to resend); a note changed elsewhere since gets 409 with
/// both texts.
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id"), ("interview_id" = i64, Path, description = "Interview id"), ("question_id" = i64, Path, description = "The question's id in the version's snapshot")),
    request_body = NoteSave,
    responses((status = 200, body = NoteSaved), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = NoteConflict), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/interviews/{interview_id}/notes/{question_id}")]
async fn save_note(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64, i64)>,
    body: web::Json<NoteSave>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id, question_id) = path.into_inner();
    let save = NoteSave {
        question_id,
        ..body.into_inner()
    };
    let outcome = actions::save_notes(
        &state,
        &origin.by(user.id),
        &user,
        study_id,
        interview_id,
        vec![save],
    )
    .await?
    .pop()
    .map(|(_, outcome)| outcome)
    .ok_or_else(|| AppError::internal(anyhow::anyhow!("a save came back without an outcome")))?;
    Ok(match outcome {
        SaveOutcome::Saved { revision, saved_at } => HttpResponse::Ok().json(NoteSaved {
            revision,
            saved_at,
            changed: true,
        }),
        SaveOutcome::Unchanged { revision, saved_at } => HttpResponse::Ok().json(NoteSaved {
            revision,
            saved_at,
            changed: false,
        }),
        SaveOutcome::Conflict { stored, yours } => HttpResponse::Conflict().json(NoteConflict {
            error: ErrorDetail {
                code: "conflict".into(),
                message: "These notes were changed elsewhere since you last saw them: both versions are here, choose what to keep and save again naming the stored revision".into(),
                fields: BTreeMap::new(),
            },
            stored,
            yours,
        }),
        SaveOutcome::Invalid { message } => {
            return Err(AppError::invalid("notes", &message));
        }
    })
}

/// Adds a timestamped quick note or flagged quote; resending with the same `client_key` adds nothing.
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id"), ("interview_id" = i64, Path, description = "Interview id")),
    request_body = MomentInput,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/interviews/{interview_id}/moments")]
async fn add_moment(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<MomentInput>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    actions::add_moment(&state, &user, study_id, interview_id, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The distress button: pauses the interview and gives the interviewer a follow-up task.
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id"), ("interview_id" = i64, Path, description = "Interview id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/interviews/{interview_id}/distress")]
async fn pause_for_distress(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    actions::distress(&state, &origin.by(user.id), &user, study_id, interview_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Goes on after a pause; the time paused is left out of the interview's duration.
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id"), ("interview_id" = i64, Path, description = "Interview id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/interviews/{interview_id}/resume")]
async fn resume_interview(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    actions::resume(&state, &user, study_id, interview_id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Completes the interview with its field notes (every COREQ item required); once complete, changes
/// them and records the before and after.
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id"), ("interview_id" = i64, Path, description = "Interview id")),
    request_body = FieldNotes,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []))
)]
#[put("/studies/{id}/interviews/{interview_id}/field-notes")]
async fn save_field_notes(
    user: CurrentUser,
    origin: Origin,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64)>,
    body: web::Json<FieldNotes>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id) = path.into_inner();
    actions::close(
        &state,
        &origin.by(user.id),
        &user,
        study_id,
        interview_id,
        body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Marks a follow-up task done.
#[utoipa::path(
    tag = "interviews",
    params(("id" = i64, Path, description = "Study id"), ("interview_id" = i64, Path, description = "Interview id"), ("follow_up_id" = i64, Path, description = "Follow-up id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
#[post("/studies/{id}/interviews/{interview_id}/follow-ups/{follow_up_id}/done")]
async fn finish_follow_up(
    user: CurrentUser,
    state: web::Data<AppState>,
    path: web::Path<(i64, i64, i64)>,
) -> Result<HttpResponse, AppError> {
    let (study_id, interview_id, follow_up_id) = path.into_inner();
    actions::finish_follow_up(&state, &user, study_id, interview_id, follow_up_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
