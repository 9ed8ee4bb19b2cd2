//! Putting a participant's record together, and recording that it was read.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::queries::{self, Erased, HeldAnswer, HeldCoding};
use crate::audit::{self, Origin};
use crate::db::{now, Db};
use crate::distribution::participants::actions::{participant, ParticipantDetail};
use crate::distribution::tracking::handlers::timeline;
use crate::distribution::tracking::queries::TimelineEvent;
use crate::error::AppError;
use crate::responses::queries::{consent_of_study, ConsentStatus};

/// What is kept even after erasure on request, and why: the person is told this with their copy, and
/// the lead reads it before erasing.
pub const KEPT_AFTER_ERASURE: &str = "If you ask us to erase your details, we keep only the fact that you \
    agreed to take part or withdrew and when (the law on research requires a record of consent), under \
    your participant code and group, without your name or contact details. Answers already made \
    anonymous cannot be found to erase, because nothing links them to you.";

#[derive(Debug, Serialize, ToSchema)]
pub struct SubjectAccess {
    pub study: String,
    #[serde(with = "crate::db::utc")]
    pub made_at: chrono::NaiveDateTime,
    /// The participant: their code and research details, and their name and contact details until
    /// erased.
    pub participant: ParticipantDetail,
    /// Each consent decision with the statements as they were worded and what they answered.
    pub consent: Vec<ConsentStatus>,
    /// Their answers, and interview notes about them.
    pub answers: Vec<HeldAnswer>,
    /// The codes given to passages of their words in the analysis.
    pub codings: Vec<HeldCoding>,
    /// Every email, visit and milestone, by date.
    pub timeline: Vec<TimelineEvent>,
    pub kept_after_erasure: String,
}

/// The participant's whole record (the caller has checked that a lead asks), audited.
pub async fn gather(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    study_title: &str,
    participant_id: i64,
) -> Result<SubjectAccess, AppError> {
    let found = participant(db, study_id, participant_id, true).await?;
    let history = timeline(db, study_id, participant_id).await?;
    let code = found.participant.code.clone();
    let (consent, answers, codings) = {
        let code = code.clone();
        db.read(move |conn| {
            let consent: Vec<ConsentStatus> = consent_of_study(conn, study_id)?
                .into_iter()
                .filter(|c| c.code == code)
                .collect();
            Ok::<_, AppError>((
                consent,
                queries::answers_of(conn, participant_id)?,
                queries::codings_of(conn, participant_id)?,
            ))
        })
        .await?
    };
    let details = json!({ "participants": [code] });
    audit::looked(db, origin, "subject_access_viewed", Some(study_id), details).await?;
    Ok(SubjectAccess {
        study: study_title.to_string(),
        made_at: now(),
        participant: found,
        consent,
        answers,
        codings,
        timeline: history.events,
        kept_after_erasure: KEPT_AFTER_ERASURE.to_string(),
    })
}

/// Erases everything held about a participant on their request (the caller has checked that a lead
/// asks): who they are, their answers and interview notes with the codings of their words, the emails
/// to them, their links and visits. What is kept is `KEPT_AFTER_ERASURE`. Audited, with the counts.
/// Erasing again changes nothing.
pub async fn erase_everything(
    db: &Db,
    origin: &Origin,
    study_id: i64,
    participant_id: i64,
) -> Result<Erased, AppError> {
    use crate::distribution::participants::queries as roster;
    let origin = origin.clone();
    let erased = db
        .write(move |conn| {
            let found = roster::find(conn, study_id, participant_id)?.ok_or(AppError::NotFound)?;
            if found.record_erased_at.is_some() {
                return Ok(None);
            }
            if found.identity_erased_at.is_none() {
                roster::erase_identity(conn, participant_id)?;
            }
            let erased = queries::erase_record(conn, participant_id, now())?;
            audit::record(
                conn,
                &origin,
                "participant_record_erased",
                "participant",
                Some(participant_id),
                json!({ "study_id": study_id, "code": found.code, "erased": erased }),
            )?;
            Ok::<_, AppError>(Some(erased))
        })
        .await?;
    let Some(erased) = erased else {
        return Ok(Erased::default());
    };
    // Erased stands either way; this makes the old rows unreadable on disk now, not at housekeeping.
    for table in ERASED_TABLES {
        if let Err(error) = db.reclaim(table).await {
            tracing::warn!(%error, table, "could not reclaim erased rows' space yet");
        }
    }
    Ok(erased)
}

/// Where erasure deletes rows (codings, moments and follow-ups go with answers and interviews).
const ERASED_TABLES: [&str; 7] = [
    "participant_identities",
    "responses",
    "answers",
    "codings",
    "interviews",
    "outbox_messages",
    "link_tokens",
];
