//! What interview pages show, built from the guide and the notes: each question of a guide section
//! ready for its controls (with what was just typed when a save comes back), and the schedule's rows.
//! No storage or HTTP here.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::actions::{NoteSave, SaveOutcome};
use super::queries::{Scheduled, StoredNote};
use super::rules::{has_structured_answer, Mode, QuestionStatus, Status};
use crate::distribution::participants::rules::{CommunicationNeed, Group};
use crate::studies::preview::rules::PreviewSection;
use crate::studies::questionnaires::rules::QuestionKind;

pub fn notes_field(id: i64) -> String {
    format!("notes-{id}")
}
pub fn answer_field(id: i64) -> String {
    format!("answer-{id}")
}
pub fn status_field(id: i64) -> String {
    format!("status-{id}")
}
pub fn revision_field(id: i64) -> String {
    format!("revision-{id}")
}
pub fn elapsed_field(id: i64) -> String {
    format!("elapsed-{id}")
}

#[derive(Debug, Serialize)]
pub struct Choice {
    pub id: String,
    pub value: String,
    pub label: String,
    pub checked: bool,
}

/// What someone else saved, shown beside what this person typed.
#[derive(Debug, Serialize)]
pub struct Theirs {
    pub notes: String,
    pub answer: String,
    pub status: String,
    #[serde(with = "crate::db::utc")]
    pub saved_at: NaiveDateTime,
}

#[derive(Debug, Serialize)]
pub struct GuideQuestion {
    pub id: i64,
    pub number: usize,
    pub text: String,
    pub help_text: String,
    pub probes: Vec<String>,
    pub tags: Vec<String>,
    pub condition: Option<String>,
    /// radios, checkboxes, text or none: how the structured answer is given.
    pub answer_control: &'static str,
    pub choices: Vec<Choice>,
    /// A structured answer is given.
    pub answered: bool,
    pub answer: String,
    pub notes: String,
    pub statuses: Vec<Choice>,
    pub revision: i32,
    pub elapsed_seconds: i32,
    #[serde(with = "crate::db::utc::option")]
    pub saved_at: Option<NaiveDateTime>,
    pub conflict: Option<Theirs>,
    pub error: Option<String>,
}

/// The questions of one guide section. `sent` is what a save just sent (kept on screen when it comes
/// back with problems) and `outcomes` what became of it.
pub fn guide_questions(
    section: &PreviewSection,
    notes: &HashMap<i64, StoredNote>,
    sent: &HashMap<i64, NoteSave>,
    outcomes: &HashMap<i64, SaveOutcome>,
) -> Vec<GuideQuestion> {
    section
        .questions
        .iter()
        .map(|q| {
            let stored = notes.get(&q.id);
            let (text, answer, status, revision) = match (sent.get(&q.id), stored) {
                (Some(s), _) => (
                    s.notes.clone(),
                    s.answer.clone(),
                    s.status.clone(),
                    s.revision,
                ),
                (None, Some(n)) => (
                    n.note.notes.clone(),
                    n.note.answer.clone(),
                    n.note.status.map_or("", QuestionStatus::as_str).to_string(),
                    n.revision,
                ),
                (None, None) => Default::default(),
            };
            let (conflict, error, revision) = match outcomes.get(&q.id) {
                // Naming the stored revision means the next save keeps what is in the box: a choice
                // the interviewer makes having seen both.
                Some(SaveOutcome::Conflict { stored, .. }) => (
                    Some(Theirs {
                        notes: stored.note.notes.clone(),
                        answer: stored.note.answer.clone(),
                        status: stored
                            .note
                            .status
                            .map_or("", QuestionStatus::label)
                            .to_string(),
                        saved_at: stored.updated_at,
                    }),
                    None,
                    stored.revision,
                ),
                Some(SaveOutcome::Invalid { message }) => (None, Some(message.clone()), revision),
                _ => (None, None, revision),
            };
            let chosen: Vec<&str> = answer.lines().collect();
            let field = answer_field(q.id);
            let choices = q
                .answers
                .iter()
                .enumerate()
                .map(|(i, label)| Choice {
                    id: format!("{field}-{}", i + 1),
                    value: label.clone(),
                    label: label.clone(),
                    checked: chosen.contains(&label.as_str()),
                })
                .collect();
            let answer_control = match q.kind {
                k if !has_structured_answer(k) => "none",
                QuestionKind::MultipleChoice => "checkboxes",
                QuestionKind::Number | QuestionKind::Date => "text",
                _ => "radios",
            };
            let status_field = status_field(q.id);
            let statuses = std::iter::once(("", "Not yet"))
                .chain(QuestionStatus::ALL.iter().map(|s| (s.as_str(), s.label())))
                .map(|(value, label)| Choice {
                    id: format!(
                        "{status_field}-{}",
                        if value.is_empty() { "none" } else { value }
                    ),
                    value: value.into(),
                    label: label.into(),
                    checked: status == value,
                })
                .collect();
            GuideQuestion {
                id: q.id,
                number: q.number,
                text: q.text.clone(),
                help_text: q.help_text.clone(),
                probes: q.probes.clone(),
                tags: q.tags.clone(),
                condition: q.condition.as_ref().map(|c| {
                    format!(
                        "Ask only if question {} was answered {}.",
                        c.number
                            .map_or_else(|| "(not in this guide)".into(), |n| n.to_string()),
                        c.answers
                            .iter()
                            .map(|a| format!("\u{201c}{a}\u{201d}"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    )
                }),
                answer_control,
                choices,
                answered: !chosen.is_empty(),
                answer: if answer_control == "text" {
                    answer
                } else {
                    String::new()
                },
                notes: text,
                statuses,
                revision,
                elapsed_seconds: stored.map_or(0, |n| n.elapsed_seconds),
                saved_at: stored.map(|n| n.updated_at),
                conflict,
                error,
            }
        })
        .collect()
}

/// One row of the schedule.
#[derive(Debug, Serialize)]
pub struct ScheduleRow {
    pub id: i64,
    pub scheduled_at: NaiveDateTime,
    pub code: String,
    pub group: String,
    pub mode: String,
    pub status: String,
    pub status_value: String,
    pub questionnaire: String,
    pub interviewer: String,
    pub note_taker: String,
    pub name: String,
    pub needs: Vec<String>,
}

pub fn schedule_rows(interviews: &[Scheduled], names: &HashMap<i64, String>) -> Vec<ScheduleRow> {
    let name_of = |id: Option<i64>| {
        id.and_then(|id| names.get(&id).cloned())
            .unwrap_or_default()
    };
    interviews
        .iter()
        .map(|s| ScheduleRow {
            id: s.interview.id,
            scheduled_at: s.interview.scheduled_at,
            code: s.participant_code.clone(),
            group: Group::parse(&s.participant_group)
                .map_or("Not known", Group::label)
                .into(),
            mode: Mode::parse(&s.interview.mode)
                .map_or("", Mode::label)
                .into(),
            status: Status::parse(&s.interview.status)
                .map_or("", Status::label)
                .into(),
            status_value: s.interview.status.clone(),
            questionnaire: format!("{} (version {})", s.questionnaire_title, s.version_number),
            interviewer: name_of(Some(s.interview.interviewer_id)),
            note_taker: name_of(s.interview.note_taker_id),
            name: s
                .contact
                .as_ref()
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            needs: needs_of(s),
        })
        .collect()
}

/// The participant's communication needs, in words.
pub fn needs_of(s: &Scheduled) -> Vec<String> {
    s.contact
        .as_ref()
        .and_then(|c| serde_json::from_str::<Vec<String>>(&c.communication_needs).ok())
        .unwrap_or_default()
        .iter()
        .filter_map(|n| CommunicationNeed::parse(n))
        .map(|n| n.label().to_string())
        .collect()
}

/// A quick note, quote or pause as the pages list it.
#[derive(Debug, Serialize)]
pub struct MomentView {
    pub minute: i32,
    pub kind: &'static str,
    pub body: String,
}

pub fn moment_views(moments: &[super::queries::Moment]) -> Vec<MomentView> {
    moments
        .iter()
        .map(|m| MomentView {
            minute: m.elapsed_seconds / 60,
            kind: match super::rules::MomentKind::parse(&m.kind) {
                Some(super::rules::MomentKind::Quote) => "Quote",
                Some(super::rules::MomentKind::Distress) => "Pause",
                _ => "Note",
            },
            body: m.body.clone(),
        })
        .collect()
}
