//! History rules with no storage or HTTP: what a revision is, what a snapshot keeps, how a change reads.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use super::diff::{word_diff, Segment};
use crate::error::FieldErrors;
use crate::studies::questionnaires::rules::{
    QuestionContent, QuestionInput, QuestionKind, SectionInput,
};

pub const REASON_MAX: usize = 1000;

/// The "why we changed it" note: optional, up to 1,000 characters.
pub fn reason_error(reason: &str) -> Option<String> {
    (reason.trim().chars().count() > REASON_MAX)
        .then(|| "Why you changed it can be up to 1,000 characters".to_string())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectType {
    Question,
    Section,
}

impl ObjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectType::Question => "question",
            ObjectType::Section => "section",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "question" => Some(ObjectType::Question),
            "section" => Some(ObjectType::Section),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Duplicated,
    Changed,
    Restored,
    Deleted,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Duplicated => "duplicated",
            Action::Changed => "changed",
            Action::Restored => "restored",
            Action::Deleted => "deleted",
        }
    }
}

/// What history keeps of a question or section: everything the group wrote, nothing about the save itself
/// (the note is kept beside the snapshot, the version number is meaningless once restored).
pub fn snapshot<T: Serialize>(content: &T) -> String {
    let mut value = serde_json::to_value(content).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.remove("reason");
        fields.remove("lock_version");
    }
    value.to_string()
}

/// A checked question as it is stored, so its snapshot equals the one later read back from storage.
pub fn question_snapshot(content: &QuestionContent) -> String {
    snapshot(&QuestionInput {
        kind: content.kind.as_str().into(),
        system_level: content
            .system_level
            .map(|l| l.as_str().to_string())
            .unwrap_or_default(),
        ..content.input.clone()
    })
}

/// One readable part of a snapshot, e.g. the question's text or its options one per line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub field: &'static str,
    pub label: &'static str,
    pub text: String,
}

fn field(field: &'static str, label: &'static str, text: String) -> Field {
    Field { field, label, text }
}

fn yes(flag: bool, text: &str) -> String {
    if flag {
        text.to_string()
    } else {
        String::new()
    }
}

/// A question snapshot as the group reads it; `tag_labels` names the taxonomy ids.
pub fn question_fields(q: &QuestionInput, tag_labels: &HashMap<i64, String>) -> Vec<Field> {
    let audiences: Vec<&str> = [
        (q.for_staff, "staff"),
        (q.for_service_users, "service users"),
        (q.for_carers, "carers"),
    ]
    .into_iter()
    .filter_map(|(asked, who)| asked.then_some(who))
    .collect();
    let tags: Vec<String> = q
        .tags
        .iter()
        .map(|id| {
            tag_labels
                .get(id)
                .cloned()
                .unwrap_or_else(|| format!("tag {id}"))
        })
        .collect();
    let condition = q
        .show_if_question_id
        .map(|id| {
            format!(
                "question {id} is answered: {}",
                q.show_if_answers.join(", ")
            )
        })
        .unwrap_or_default();
    vec![
        field("text", "Question", q.text.clone()),
        field(
            "kind",
            "How people answer",
            QuestionKind::parse(&q.kind).map_or_else(|| q.kind.clone(), |k| k.label().to_string()),
        ),
        field("options", "Options", q.options.join("\n")),
        field(
            "likert_not_applicable",
            "Not applicable",
            yes(q.likert_not_applicable, "Also offers “Not applicable”"),
        ),
        field("required", "Answer required", yes(q.required, "Required")),
        field("help_text", "Help text", q.help_text.clone()),
        field("audiences", "Asked of", audiences.join(", ")),
        field(
            "wording_staff",
            "Wording for staff",
            q.wording_staff.clone(),
        ),
        field(
            "wording_service_user",
            "Wording for service users",
            q.wording_service_user.clone(),
        ),
        field(
            "wording_carer",
            "Wording for carers",
            q.wording_carer.clone(),
        ),
        field(
            "wording_easy_read",
            "Easy read wording",
            q.wording_easy_read.clone(),
        ),
        field("probes", "Probes for the interviewer", q.probes.join("\n")),
        field("tags", "Tags", tags.join(", ")),
        field("system_level", "System level", q.system_level.clone()),
        field("provenance", "Where it comes from", q.provenance.clone()),
        field("condition", "Shown only if", condition),
    ]
}

pub fn section_fields(s: &SectionInput) -> Vec<Field> {
    vec![
        field("title", "Section title", s.title.clone()),
        field("introduction", "Introduction", s.introduction.clone()),
    ]
}

/// One field that differs between two versions, word by word.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldChange {
    /// The field's name, e.g. "text", "options", "title".
    pub field: String,
    /// What the field is called on the page.
    pub label: String,
    pub segments: Vec<Segment>,
}

/// The fields that differ; a missing side (before creation, after deletion) counts as empty.
pub fn changes(before: Option<&[Field]>, after: Option<&[Field]>) -> Vec<FieldChange> {
    let empty = |fields: &[Field]| -> Vec<Field> {
        fields
            .iter()
            .map(|f| Field {
                text: String::new(),
                ..f.clone()
            })
            .collect()
    };
    let (before, after) = match (before, after) {
        (Some(b), Some(a)) => (b.to_vec(), a.to_vec()),
        (Some(b), None) => (b.to_vec(), empty(b)),
        (None, Some(a)) => (empty(a), a.to_vec()),
        (None, None) => return Vec::new(),
    };
    before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b.text != a.text)
        .map(|(b, a)| FieldChange {
            field: a.field.to_string(),
            label: a.label.to_string(),
            segments: word_diff(&b.text, &a.text),
        })
        .collect()
}

/// The note kept with a restore: the person's own words, or which version came back.
pub fn restore_reason(reason: &str, restored_from: NaiveDateTime) -> String {
    match reason.trim() {
        "" => format!(
            "Restored the version of {}",
            restored_from.format("%-d %b %Y %H:%M")
        ),
        own => own.to_string(),
    }
}

/// A restore is checked like an edit, but only the note has a field on the restore page: every other
/// problem is said in one message that points at the version being restored.
pub fn restore_errors(mut errors: FieldErrors) -> FieldErrors {
    let reason = errors.remove("reason");
    let mut shown = FieldErrors::new();
    if !errors.is_empty() {
        let problems: Vec<String> = errors.into_values().collect();
        shown.insert(
            "revision".into(),
            format!(
                "This version cannot be restored as it is: {} Edit the current version instead.",
                problems
                    .iter()
                    .map(|p| format!("{}.", p.trim_end_matches('.')))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        );
    }
    if let Some(reason) = reason {
        shown.insert("reason".into(), reason);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::studies::questionnaires::rules::{QuestionKind, SystemLevel};

    #[test]
    fn the_note_is_optional_and_at_most_a_thousand_characters() {
        assert!(reason_error("").is_none());
        assert!(reason_error(&"é".repeat(REASON_MAX)).is_none());
        assert!(reason_error(&"é".repeat(REASON_MAX + 1))
            .unwrap()
            .contains("1,000"));
    }

    #[test]
    fn snapshots_keep_the_content_and_drop_the_save() {
        let input = QuestionInput {
            kind: "likert".into(),
            text: "I feel heard".into(),
            reason: "clearer".into(),
            lock_version: Some(3),
            tags: vec![2],
            system_level: " meso ".into(),
            ..QuestionInput::default()
        };
        let content = QuestionContent {
            kind: QuestionKind::Likert,
            system_level: Some(SystemLevel::Meso),
            input,
        };
        let json: serde_json::Value = serde_json::from_str(&question_snapshot(&content)).unwrap();
        assert_eq!(json["text"], "I feel heard");
        assert_eq!(json["tags"], serde_json::json!([2]));
        assert_eq!(json["system_level"], "meso");
        assert!(json.get("reason").is_none() && json.get("lock_version").is_none());
        let back: QuestionInput = serde_json::from_value(json).unwrap();
        assert_eq!(back.text, "I feel heard");
    }

    #[test]
    fn only_changed_fields_are_listed_and_creation_adds_every_written_field() {
        let labels = HashMap::from([(5, "Reflective motivation".to_string())]);
        let first = QuestionInput {
            kind: "long_text".into(),
            text: "What helped you?".into(),
            for_staff: true,
            ..QuestionInput::default()
        };
        let second = QuestionInput {
            text: "What helped you most?".into(),
            tags: vec![5],
            ..first.clone()
        };
        let (a, b) = (
            question_fields(&first, &labels),
            question_fields(&second, &labels),
        );
        let changed = changes(Some(&a), Some(&b));
        let names: Vec<&str> = changed.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(names, vec!["text", "tags"]);
        assert_eq!(changed[1].segments[0].text, "Reflective motivation");
        let created = changes(None, Some(&a));
        let names: Vec<&str> = created.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(names, vec!["text", "kind", "audiences"]);
        let section = SectionInput {
            title: "Background".into(),
            ..SectionInput::default()
        };
        assert_eq!(changes(Some(&section_fields(&section)), None).len(), 1);
    }

    #[test]
    fn restoring_says_why_and_collects_problems_in_one_message() {
        let when =
            NaiveDateTime::parse_from_str("2026-11-25 14:03:00", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            restore_reason("  ", when),
            "Restored the version of 25 Nov 2026 14:03"
        );
        assert_eq!(restore_reason(" Kinder wording ", when), "Kinder wording");
        let errors = restore_errors(FieldErrors::from([
            (
                "show_if_question_id".to_string(),
                "A condition can only depend on an earlier question in this questionnaire"
                    .to_string(),
            ),
            ("reason".to_string(), "Too long".to_string()),
        ]));
        assert!(errors["revision"].contains("earlier question in this questionnaire."));
        assert_eq!(errors["reason"], "Too long");
    }
}
