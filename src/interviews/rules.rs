//! Interview rules with no storage or HTTP: modes and statuses, the guide an interviewer reads, checking
//! and versioning notes, field notes (the COREQ items) and the interview's clock.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::distribution::participants::rules::{choices, simplify, vocabulary, Choice};
use crate::error::FieldErrors;
use crate::responses::rules::{check_answer, ANSWER_MAX};
use crate::studies::preview::rules::{preview, Audience, Preview, PreviewQuestion};
use crate::studies::questionnaires::rules::QuestionKind;
use crate::studies::versions::rules::Snapshot;

vocabulary!(
    /// How the interview takes place.
    Mode {
        InPerson => "in_person", "In person";
        Phone => "phone", "Phone";
        Video => "video", "Video call";
    }
);

vocabulary!(
    /// Where an interview has got to.
    Status {
        Scheduled => "scheduled", "Scheduled";
        InProgress => "in_progress", "In progress";
        Paused => "paused", "Paused";
        Completed => "completed", "Completed";
        Declined => "declined", "Consent declined";
        Cancelled => "cancelled", "Cancelled";
    }
);

vocabulary!(
    /// What happened to one question in the interview.
    QuestionStatus {
        Asked => "asked", "Asked";
        Skipped => "skipped", "Skipped";
        Declined => "declined", "Participant declined";
        OutOfTime => "out_of_time", "Ran out of time";
    }
);

vocabulary!(
    /// Something noted at a moment of the interview, apart from a question's notes.
    MomentKind {
        Note => "note", "Quick note";
        Quote => "quote", "Flagged quote";
        Distress => "distress", "Distress pause";
    }
);

impl Status {
    /// Notes can be taken (or, once completed, corrected with history kept).
    pub fn takes_notes(self) -> bool {
        matches!(
            self,
            Status::InProgress | Status::Paused | Status::Completed
        )
    }

    /// Running now: the clock ticks and the distress button works.
    pub fn is_live(self) -> bool {
        matches!(self, Status::InProgress | Status::Paused)
    }
}

/// At most this many characters in a quick note or one field-notes item.
pub const SHORT_NOTE_MAX: usize = 5_000;

// ---- The guide ----

/// The questionnaire in the participant's wording, with the probes and topic tags only the interviewer
/// sees: the interviewer reads out what the participant would have read.
pub fn guide(snapshot: &Snapshot, audience: Audience) -> Preview {
    let mut guide = preview(snapshot, audience);
    let extras: std::collections::HashMap<i64, (&Vec<String>, &Vec<String>)> = snapshot
        .sections
        .iter()
        .flat_map(|s| &s.questions)
        .map(|q| (q.id, (&q.probes, &q.tags)))
        .collect();
    for q in guide.sections.iter_mut().flat_map(|s| &mut s.questions) {
        if let Some((probes, tags)) = extras.get(&q.id) {
            q.probes = (*probes).clone();
            q.tags = (*tags).clone();
        }
    }
    guide
}

/// Open questions are answered in the notes alone; the others also take the structured answer.
pub fn has_structured_answer(kind: QuestionKind) -> bool {
    !matches!(kind, QuestionKind::LongText | QuestionKind::ShortText)
}

// ---- Notes ----

/// What is kept for one question of an interview.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Note {
    /// The interviewer's notes.
    pub notes: String,
    /// The structured answer, for questions that have one: the chosen label, or labels one per line.
    pub answer: String,
    /// asked, skipped, declined or out_of_time; absent until set.
    pub status: Option<QuestionStatus>,
}

/// Checks a note for this question: the notes' length, the answer against the question's choices.
pub fn check_note(
    q: &PreviewQuestion,
    notes: String,
    answer: &str,
    status: Option<QuestionStatus>,
) -> Result<Note, String> {
    if notes.chars().count() > ANSWER_MAX {
        return Err(format!(
            "Notes for one question can be up to {} characters: split them, or shorten them",
            group_thousands(ANSWER_MAX)
        ));
    }
    let answer = if answer.trim().is_empty() {
        String::new()
    } else if !has_structured_answer(q.kind) {
        return Err("This question is answered in the notes alone".into());
    } else {
        let given: Vec<&str> = answer.lines().collect();
        check_answer(q, &given)?.unwrap_or_default()
    };
    Ok(Note {
        notes,
        answer,
        status,
    })
}

fn group_thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What a save does, given the note as stored (with its revision) and the revision the saver last saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveDecision {
    /// The same note is already stored (a resent save): nothing to do, the revision stands.
    Unchanged,
    /// Store it as this new revision.
    Write { revision: i32 },
    /// Someone saved a different note since this saver last saw it: show both, overwrite neither.
    Conflict,
}

pub fn decide_save(
    stored: Option<(&Note, i32)>,
    proposed: &Note,
    seen_revision: i32,
) -> SaveDecision {
    let nothing = Note::default();
    let (stored, revision) = stored.unwrap_or((&nothing, 0));
    if stored == proposed {
        SaveDecision::Unchanged
    } else if seen_revision == revision {
        SaveDecision::Write {
            revision: revision + 1,
        }
    } else {
        SaveDecision::Conflict
    }
}

// ---- Field notes ----

/// Field notes written after the interview: the COREQ items, with reflections kept apart from
/// description.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FieldNotes {
    /// Where the interview took place (or how, for phone and video).
    pub setting: String,
    /// Who else was there, and in what role.
    pub people_present: String,
    pub interruptions: String,
    pub rapport: String,
    pub recording_quality: String,
    /// The interviewer's first reflections: interpretation, kept apart from description.
    pub reflections: String,
}

/// Each item: field name, label, hint.
pub const FIELD_NOTE_ITEMS: [(&str, &str, &str); 6] = [
    ("setting", "Setting", "Where the interview took place, or how for phone and video calls."),
    ("people_present", "People present", "Who else was there (a carer, an interpreter, a note-taker) and why. Write \u{201c}None\u{201d} if nobody."),
    ("interruptions", "Interruptions", "Anything that stopped or changed the conversation. Write \u{201c}None\u{201d} if nothing did."),
    ("rapport", "Rapport", "How the conversation felt: at ease, guarded, tired, upset."),
    ("recording_quality", "Recording and notes quality", "How complete the notes are, and the recording if there is one."),
    ("reflections", "First reflections", "Your first thoughts on what you heard. Keep interpretation here, apart from the description above."),
];

impl FieldNotes {
    pub fn get(&self, field: &str) -> &str {
        match field {
            "setting" => &self.setting,
            "people_present" => &self.people_present,
            "interruptions" => &self.interruptions,
            "rapport" => &self.rapport,
            "recording_quality" => &self.recording_quality,
            _ => &self.reflections,
        }
    }

    fn trimmed(self) -> Self {
        let t = |s: String| s.trim().to_string();
        FieldNotes {
            setting: t(self.setting),
            people_present: t(self.people_present),
            interruptions: t(self.interruptions),
            rapport: t(self.rapport),
            recording_quality: t(self.recording_quality),
            reflections: t(self.reflections),
        }
    }

    /// Every item is required before an interview is complete.
    pub fn check(self) -> Result<Self, FieldErrors> {
        let notes = self.trimmed();
        let errors: FieldErrors = FIELD_NOTE_ITEMS
            .iter()
            .filter_map(|(field, label, _)| {
                let text = notes.get(field);
                if text.is_empty() {
                    Some((
                        field.to_string(),
                        format!("Enter the {}", label.to_lowercase()),
                    ))
                } else if text.chars().count() > SHORT_NOTE_MAX {
                    Some((
                        field.to_string(),
                        format!(
                            "{label} can be up to {} characters",
                            group_thousands(SHORT_NOTE_MAX)
                        ),
                    ))
                } else {
                    None
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(notes)
        } else {
            Err(errors)
        }
    }

    /// The items that differ: (field, before, after).
    pub fn changes(&self, after: &FieldNotes) -> Vec<(&'static str, String, String)> {
        FIELD_NOTE_ITEMS
            .iter()
            .filter(|(field, _, _)| self.get(field) != after.get(field))
            .map(|(field, _, _)| {
                (
                    *field,
                    self.get(field).to_string(),
                    after.get(field).to_string(),
                )
            })
            .collect()
    }
}

// ---- The clock ----

/// Seconds of interview so far (or in all, once ended), leaving out time spent paused.
pub fn running_seconds(
    started_at: Option<NaiveDateTime>,
    until: NaiveDateTime,
    paused_at: Option<NaiveDateTime>,
    paused_seconds: i32,
) -> i64 {
    let Some(started_at) = started_at else {
        return 0;
    };
    let end = paused_at.map_or(until, |p| p.min(until));
    ((end - started_at).num_seconds() - i64::from(paused_seconds)).max(0)
}

/// "1 h 05 min", "12 min", "under a minute".
pub fn duration_words(seconds: i64) -> String {
    let minutes = seconds / 60;
    match minutes {
        0 => "under a minute".into(),
        1..=59 => format!("{minutes} min"),
        _ => format!("{} h {:02} min", minutes / 60, minutes % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::studies::preview::rules::tests::{question, snapshot};

    fn note(text: &str) -> Note {
        Note {
            notes: text.into(),
            ..Note::default()
        }
    }

    #[test]
    fn a_save_from_the_revision_stored_writes_the_next() {
        let stored = note("She said");
        assert_eq!(
            decide_save(Some((&stored, 3)), &note("She said the meetings"), 3),
            SaveDecision::Write { revision: 4 }
        );
        assert_eq!(
            decide_save(None, &note("First words"), 0),
            SaveDecision::Write { revision: 1 }
        );
    }

    #[test]
    fn a_resent_save_changes_nothing_whatever_revision_it_names() {
        let stored = note("She said the meetings");
        assert_eq!(
            decide_save(Some((&stored, 4)), &note("She said the meetings"), 3),
            SaveDecision::Unchanged
        );
        assert_eq!(
            decide_save(None, &Note::default(), 0),
            SaveDecision::Unchanged
        );
    }

    #[test]
    fn a_save_from_an_older_revision_with_other_text_conflicts() {
        let stored = note("Typed in the other tab");
        assert_eq!(
            decide_save(Some((&stored, 2)), &note("Typed here"), 1),
            SaveDecision::Conflict
        );
    }

    #[test]
    fn notes_and_answers_are_checked_against_the_question() {
        let open = crate::studies::preview::rules::PreviewQuestion {
            kind: QuestionKind::LongText,
            ..sample_question()
        };
        assert!(check_note(&open, "x".repeat(ANSWER_MAX + 1), "", None)
            .unwrap_err()
            .contains("20,000"));
        assert_eq!(
            check_note(&open, "ok".into(), "Yes", None).unwrap_err(),
            "This question is answered in the notes alone"
        );
        let choice = crate::studies::preview::rules::PreviewQuestion {
            kind: QuestionKind::YesNoNotSure,
            answers: vec!["Yes".into(), "No".into(), "Not sure".into()],
            ..sample_question()
        };
        assert_eq!(
            check_note(&choice, "n".into(), "Yes", Some(QuestionStatus::Asked))
                .unwrap()
                .answer,
            "Yes"
        );
        assert!(check_note(&choice, "n".into(), "Perhaps", None).is_err());
    }

    fn sample_question() -> PreviewQuestion {
        let snapshot = snapshot(vec![vec![question(1, "What helps?")]]);
        guide(&snapshot, Audience::Staff).sections[0].questions[0].clone()
    }

    #[test]
    fn the_guide_keeps_the_participants_wording_and_adds_probes() {
        let mut q = question(1, "What helps?");
        q.wording_service_user = "What helps you take part?".into();
        let guide = guide(&snapshot(vec![vec![q]]), Audience::ServiceUser);
        let shown = &guide.sections[0].questions[0];
        assert_eq!(shown.text, "What helps you take part?");
        assert!(!shown.probes.is_empty());
    }

    #[test]
    fn field_notes_need_every_item_and_list_their_changes() {
        let errors = FieldNotes {
            setting: "Ward day room".into(),
            ..FieldNotes::default()
        }
        .check()
        .unwrap_err();
        assert_eq!(errors.len(), 5);
        assert_eq!(errors["rapport"], "Enter the rapport");
        let before = FieldNotes {
            setting: " Ward day room ".into(),
            people_present: "None".into(),
            interruptions: "None".into(),
            rapport: "Warm".into(),
            recording_quality: "Good".into(),
            reflections: "Energy about peer roles".into(),
        }
        .check()
        .unwrap();
        assert_eq!(before.setting, "Ward day room");
        let after = FieldNotes {
            rapport: "Warm, then tired".into(),
            ..before.clone()
        };
        assert_eq!(
            before.changes(&after),
            vec![("rapport", "Warm".into(), "Warm, then tired".into())]
        );
    }

    #[test]
    fn the_clock_leaves_out_pauses() {
        let at = |m: i64| {
            chrono::NaiveDate::from_ymd_opt(2026, 11, 26)
                .unwrap()
                .and_hms_opt(14, 0, 0)
                .unwrap()
                + chrono::Duration::minutes(m)
        };
        assert_eq!(running_seconds(Some(at(0)), at(50), None, 600), 40 * 60);
        // Paused at 30 minutes: the clock stops there.
        assert_eq!(
            running_seconds(Some(at(0)), at(50), Some(at(30)), 0),
            30 * 60
        );
        assert_eq!(running_seconds(None, at(50), None, 0), 0);
        assert_eq!(duration_words(65 * 60), "1 h 05 min");
        assert_eq!(duration_words(12 * 60 + 5), "12 min");
    }
}
