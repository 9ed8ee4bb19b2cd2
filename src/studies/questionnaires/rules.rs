//! Questionnaire rules with no storage or HTTP: question kinds and what a well-formed question is.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::history::rules::reason_error;
use crate::error::FieldErrors;

pub const TEXT_MAX: usize = 2000;
pub const HELP_MAX: usize = 4000;
pub const OPTION_MAX: usize = 200;
pub const PROBE_MAX: usize = 500;
pub const TITLE_MAX: usize = 200;
pub const INTRODUCTION_MAX: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    LongText,
    ShortText,
    SingleChoice,
    MultipleChoice,
    Likert,
    Scale0To10,
    YesNoNotSure,
    Number,
    Date,
}

pub const KINDS: [QuestionKind; 9] = [
    QuestionKind::LongText,
    QuestionKind::ShortText,
    QuestionKind::SingleChoice,
    QuestionKind::MultipleChoice,
    QuestionKind::Likert,
    QuestionKind::Scale0To10,
    QuestionKind::YesNoNotSure,
    QuestionKind::Number,
    QuestionKind::Date,
];

impl QuestionKind {
    /// About how long answering one question of this kind takes: writing at length takes longer than
    /// a tick. Behind "about N minutes" on the first page and in the invitation.
    pub fn seconds_to_answer(self) -> u32 {
        match self {
            QuestionKind::LongText => 90,
            QuestionKind::ShortText => 30,
            _ => 15,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::LongText => "long_text",
            QuestionKind::ShortText => "short_text",
            QuestionKind::SingleChoice => "single_choice",
            QuestionKind::MultipleChoice => "multiple_choice",
            QuestionKind::Likert => "likert",
            QuestionKind::Scale0To10 => "scale_0_10",
            QuestionKind::YesNoNotSure => "yes_no_not_sure",
            QuestionKind::Number => "number",
            QuestionKind::Date => "date",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        KINDS.into_iter().find(|kind| kind.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            QuestionKind::LongText => "Long answer in their own words",
            QuestionKind::ShortText => "Short answer",
            QuestionKind::SingleChoice => "Choose one option",
            QuestionKind::MultipleChoice => "Choose any options",
            QuestionKind::Likert => "Agreement scale (Likert, 5 or 7 points)",
            QuestionKind::Scale0To10 => "Scale from 0 to 10",
            QuestionKind::YesNoNotSure => "Yes, no or not sure",
            QuestionKind::Number => "A number",
            QuestionKind::Date => "A date",
        }
    }

    /// Kinds whose options the co-design group writes.
    pub fn has_written_options(self) -> bool {
        matches!(
            self,
            QuestionKind::SingleChoice | QuestionKind::MultipleChoice | QuestionKind::Likert
        )
    }

    /// The answers a participant can pick, for kinds a later question's condition may depend on.
    pub fn choices(self, options: &[String]) -> Option<Vec<String>> {
        match self {
            QuestionKind::SingleChoice | QuestionKind::MultipleChoice => Some(options.to_vec()),
            QuestionKind::YesNoNotSure => Some(vec!["Yes".into(), "No".into(), "Not sure".into()]),
            _ => None,
        }
    }
}

pub const DEFAULT_LIKERT: [&str; 5] = [
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SystemLevel {
    Micro,
    Meso,
    Macro,
}

impl SystemLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemLevel::Micro => "micro",
            SystemLevel::Meso => "meso",
            SystemLevel::Macro => "macro",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "micro" => Some(SystemLevel::Micro),
            "meso" => Some(SystemLevel::Meso),
            "macro" => Some(SystemLevel::Macro),
            _ => None,
        }
    }
}

/// A question as the co-design group writes it: the JSON API's shape, and what the page form becomes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct QuestionInput {
    /// long_text, short_text, single_choice, multiple_choice, likert, scale_0_10, yes_no_not_sure, number, date.
    pub kind: String,
    pub text: String,
    pub help_text: String,
    pub required: bool,
    pub for_staff: bool,
    pub for_service_users: bool,
    pub for_carers: bool,
    /// Wording for one audience, used instead of `text` for them; empty means the main text.
    pub wording_staff: String,
    pub wording_service_user: String,
    pub wording_carer: String,
    pub wording_easy_read: String,
    /// Choices (single or multiple choice) or the scale's labels (Likert: 5 or 7, in order).
    pub options: Vec<String>,
    pub likert_not_applicable: bool,
    /// Follow-up prompts for interviewers, in order; participants never see them.
    pub probes: Vec<String>,
    /// micro, meso or macro; empty for none.
    pub system_level: String,
    /// Where the question comes from, e.g. "adapted from …".
    pub provenance: String,
    /// Show this question only when an earlier choice question was answered with one of `show_if_answers`.
    pub show_if_question_id: Option<i64>,
    pub show_if_answers: Vec<String>,
    /// Taxonomy term ids (COM-B sub-components and TDF domains).
    pub tags: Vec<i64>,
    /// The version this edit started from; a different current version means someone else saved first.
    pub lock_version: Option<i32>,
    /// Why we changed it (optional, up to 1,000 characters): kept in the question's history.
    pub reason: String,
}

/// A section as the co-design group writes it; `reason` is kept in the section's history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SectionInput {
    pub title: String,
    pub introduction: String,
    pub reason: String,
}

/// An earlier question that a condition may point at.
#[derive(Debug, Clone)]
pub struct EarlierQuestion {
    pub id: i64,
    pub kind: QuestionKind,
    pub options: Vec<String>,
}

/// A question that passed every rule, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionContent {
    pub kind: QuestionKind,
    pub input: QuestionInput,
    pub system_level: Option<SystemLevel>,
}

fn too_long(text: &str, max: usize) -> bool {
    text.chars().count() > max
}

fn tidy_lines(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Checks a question against every rule, reporting each problem beside its field.
/// `earlier` are the questions before this one in the questionnaire; `known_tags` the taxonomy ids.
pub fn check_question(
    input: &QuestionInput,
    earlier: &[EarlierQuestion],
    known_tags: &HashSet<i64>,
) -> Result<QuestionContent, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut error = |field: &str, message: String| {
        errors.entry(field.to_string()).or_insert(message);
    };
    let mut input = input.clone();
    input.text = input.text.trim().to_string();
    input.options = tidy_lines(&input.options);
    input.probes = tidy_lines(&input.probes);
    input.show_if_answers = tidy_lines(&input.show_if_answers);
    input.reason = input.reason.trim().to_string();
    if let Some(message) = reason_error(&input.reason) {
        error("reason", message);
    }

    let kind = QuestionKind::parse(&input.kind);
    if kind.is_none() {
        error("kind", "Choose the kind of answer".into());
    }
    if input.text.is_empty() {
        error("text", "Enter the question".into());
    } else if too_long(&input.text, TEXT_MAX) {
        error(
            "text",
            format!("The question can be up to {TEXT_MAX} characters"),
        );
    }
    if too_long(&input.help_text, HELP_MAX) {
        error(
            "help_text",
            format!("Help text can be up to {HELP_MAX} characters"),
        );
    }
    for (field, text) in [
        ("wording_staff", &input.wording_staff),
        ("wording_service_user", &input.wording_service_user),
        ("wording_carer", &input.wording_carer),
        ("wording_easy_read", &input.wording_easy_read),
    ] {
        if too_long(text, TEXT_MAX) {
            error(
                field,
                format!("This wording can be up to {TEXT_MAX} characters"),
            );
        }
    }
    if !(input.for_staff || input.for_service_users || input.for_carers) {
        error("audiences", "Choose who is asked this question".into());
    }
    // A Likert question left without labels takes the standard ones, as the form offers them.
    if kind == Some(QuestionKind::Likert) && input.options.is_empty() {
        input.options = DEFAULT_LIKERT.map(String::from).to_vec();
    }
    match kind {
        Some(QuestionKind::Likert) if ![5, 7].contains(&input.options.len()) => error(
            "options",
            format!(
                "A Likert scale needs 5 or 7 labels, one per line (there are {})",
                input.options.len()
            ),
        ),
        Some(k @ (QuestionKind::SingleChoice | QuestionKind::MultipleChoice))
            if input.options.len() < 2 =>
        {
            error(
                "options",
                format!("“{}” needs at least 2 options, one per line", k.label()),
            )
        }
        Some(k) if !k.has_written_options() => input.options.clear(),
        _ => {}
    }
    if input.options.iter().any(|o| too_long(o, OPTION_MAX)) {
        error(
            "options",
            format!("Each option can be up to {OPTION_MAX} characters"),
        );
    }
    let distinct: HashSet<&String> = input.options.iter().collect();
    if distinct.len() != input.options.len() {
        error("options", "Each option must be different".into());
    }
    if kind != Some(QuestionKind::Likert) {
        input.likert_not_applicable = false;
    }
    if input.probes.iter().any(|p| too_long(p, PROBE_MAX)) {
        error(
            "probes",
            format!("Each probe can be up to {PROBE_MAX} characters"),
        );
    }
    let system_level = match input.system_level.trim() {
        "" => None,
        text => {
            let level = SystemLevel::parse(text);
            if level.is_none() {
                error("system_level", "Choose micro, meso, macro or none".into());
            }
            level
        }
    };
    if too_long(&input.provenance, 500) {
        error(
            "provenance",
            "Where it comes from can be up to 500 characters".into(),
        );
    }
    if input.tags.iter().any(|t| !known_tags.contains(t)) {
        error("tags", "Choose tags from the list".into());
    }
    input.tags.sort_unstable();
    input.tags.dedup();
    match input.show_if_question_id {
        None => input.show_if_answers.clear(),
        Some(target) => match earlier.iter().find(|q| q.id == target) {
            None => error(
                "show_if_question_id",
                "A condition can only depend on an earlier question in this questionnaire".into(),
            ),
            Some(earlier) => match earlier.kind.choices(&earlier.options) {
                None => error(
                    "show_if_question_id",
                    "A condition can only depend on a choice question (one option, any options, or yes/no)".into(),
                ),
                Some(choices) if input.show_if_answers.is_empty() => error(
                    "show_if_answers",
                    format!("Choose the answers that show this question: {}", choices.join(", ")),
                ),
                Some(choices) if input.show_if_answers.iter().any(|a| !choices.contains(a)) => error(
                    "show_if_answers",
                    format!("The answers must be among: {}", choices.join(", ")),
                ),
                Some(_) => {}
            },
        },
    }
    match (kind, errors.is_empty()) {
        (Some(kind), true) => Ok(QuestionContent {
            kind,
            input,
            system_level,
        }),
        _ => Err(errors),
    }
}

/// True when every condition points at a question earlier in `order` (question id, condition target),
/// so a reordering may not move a question above the one it depends on.
/// Each question's number, by its id (as text, for templates): straight through the questionnaire
/// across sections, as participants, the interview guide and coding number them.
pub fn numbering(question_ids: impl IntoIterator<Item = i64>) -> BTreeMap<String, usize> {
    question_ids
        .into_iter()
        .enumerate()
        .map(|(index, id)| (id.to_string(), index + 1))
        .collect()
}

pub fn conditions_point_back(order: &[(i64, Option<i64>)]) -> bool {
    let mut seen = HashSet::new();
    order.iter().all(|(id, target)| {
        let ok = target.is_none_or(|t| seen.contains(&t));
        seen.insert(*id);
        ok
    })
}

/// Checks a section's title and introduction.
pub fn check_section(title: &str, introduction: &str) -> Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    if title.trim().is_empty() || too_long(title, TITLE_MAX) {
        errors.insert(
            "title".into(),
            format!("Enter a title for the section, up to {TITLE_MAX} characters"),
        );
    }
    if too_long(introduction, INTRODUCTION_MAX) {
        errors.insert(
            "introduction".into(),
            format!("The introduction can be up to {INTRODUCTION_MAX} characters"),
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Checks a section with its note, and tidies it for storing.
pub fn check_section_input(input: &SectionInput) -> Result<SectionInput, FieldErrors> {
    let mut errors = check_section(&input.title, &input.introduction)
        .err()
        .unwrap_or_default();
    if let Some(message) = reason_error(&input.reason) {
        errors.insert("reason".into(), message);
    }
    if errors.is_empty() {
        Ok(SectionInput {
            title: input.title.trim().to_string(),
            introduction: input.introduction.trim().to_string(),
            reason: input.reason.trim().to_string(),
        })
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> QuestionInput {
        QuestionInput {
            kind: "long_text".into(),
            text: "What helps you take part?".into(),
            for_staff: true,
            ..QuestionInput::default()
        }
    }

    fn tags() -> HashSet<i64> {
        HashSet::from([1, 2, 3])
    }

    #[test]
    fn a_plain_question_passes_and_is_tidied() {
        let mut input = base();
        input.probes = vec!["  Can you give an example? ".into(), "".into()];
        input.options = vec!["ignored".into()];
        input.tags = vec![2, 1, 2];
        let content = check_question(&input, &[], &tags()).unwrap();
        assert_eq!(content.kind, QuestionKind::LongText);
        assert_eq!(content.input.probes, vec!["Can you give an example?"]);
        assert!(
            content.input.options.is_empty(),
            "free-text kinds keep no options"
        );
        assert_eq!(content.input.tags, vec![1, 2]);
    }

    #[test]
    fn every_problem_is_reported_beside_its_field() {
        let input = QuestionInput {
            kind: "essay".into(),
            system_level: "global".into(),
            tags: vec![99],
            ..QuestionInput::default()
        };
        let input = QuestionInput {
            reason: "x".repeat(1001),
            ..input
        };
        let errors = check_question(&input, &[], &tags()).unwrap_err();
        for field in [
            "kind",
            "text",
            "audiences",
            "system_level",
            "tags",
            "reason",
        ] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
        let long = QuestionInput {
            text: "x".repeat(TEXT_MAX + 1),
            ..base()
        };
        assert!(check_question(&long, &[], &tags()).unwrap_err()["text"].contains("2000"));
    }

    #[test]
    fn likert_needs_five_or_seven_labels_and_choices_two_distinct_options() {
        let likert = QuestionInput {
            kind: "likert".into(),
            options: vec!["a".into(), "b".into()],
            ..base()
        };
        assert!(check_question(&likert, &[], &tags()).unwrap_err()["options"].contains("5 or 7"));
        let unlabelled = QuestionInput {
            kind: "likert".into(),
            ..base()
        };
        assert_eq!(
            check_question(&unlabelled, &[], &tags())
                .unwrap()
                .input
                .options,
            DEFAULT_LIKERT.map(String::from).to_vec(),
            "a Likert scale without labels takes the standard ones"
        );
        let likert = QuestionInput {
            options: DEFAULT_LIKERT.map(String::from).to_vec(),
            likert_not_applicable: true,
            ..likert
        };
        assert!(
            check_question(&likert, &[], &tags())
                .unwrap()
                .input
                .likert_not_applicable
        );
        let single = QuestionInput {
            kind: "single_choice".into(),
            options: vec!["Yes".into(), "Yes".into()],
            ..base()
        };
        assert!(
            check_question(&single, &[], &tags()).unwrap_err()["options"].contains("different")
        );
    }

    #[test]
    fn conditions_point_back_at_choice_questions_and_their_answers() {
        let earlier = [
            EarlierQuestion {
                id: 7,
                kind: QuestionKind::SingleChoice,
                options: vec!["Staff".into(), "Carer".into()],
            },
            EarlierQuestion {
                id: 8,
                kind: QuestionKind::LongText,
                options: vec![],
            },
        ];
        let forward = QuestionInput {
            show_if_question_id: Some(42),
            show_if_answers: vec!["Staff".into()],
            ..base()
        };
        assert!(
            check_question(&forward, &earlier, &tags()).unwrap_err()["show_if_question_id"]
                .contains("earlier")
        );
        let free_text = QuestionInput {
            show_if_question_id: Some(8),
            ..forward.clone()
        };
        assert!(
            check_question(&free_text, &earlier, &tags()).unwrap_err()["show_if_question_id"]
                .contains("choice")
        );
        let wrong_answer = QuestionInput {
            show_if_question_id: Some(7),
            show_if_answers: vec!["Nobody".into()],
            ..forward.clone()
        };
        assert!(
            check_question(&wrong_answer, &earlier, &tags()).unwrap_err()["show_if_answers"]
                .contains("Staff, Carer")
        );
        let good = QuestionInput {
            show_if_question_id: Some(7),
            ..forward
        };
        assert!(check_question(&good, &earlier, &tags()).is_ok());
    }

    #[test]
    fn reordering_keeps_conditions_pointing_back() {
        assert!(conditions_point_back(&[(1, None), (2, Some(1))]));
        assert!(!conditions_point_back(&[(2, Some(1)), (1, None)]));
    }

    #[test]
    fn sections_need_a_title() {
        assert!(check_section(" ", "").unwrap_err().contains_key("title"));
        assert!(check_section("Background", "").is_ok());
        let long_note = SectionInput {
            title: " Background ".into(),
            reason: "x".repeat(1001),
            ..SectionInput::default()
        };
        assert!(check_section_input(&long_note)
            .unwrap_err()
            .contains_key("reason"));
        let tidied = check_section_input(&SectionInput {
            reason: " clearer ".into(),
            ..long_note
        })
        .unwrap();
        assert_eq!(
            (tidied.title.as_str(), tidied.reason.as_str()),
            ("Background", "clearer")
        );
    }
}
