//! Taking part, with no storage or HTTP: checking consent, whose wording a participant reads, which
//! pages and questions they meet, reading and checking answers, progress, and what withdrawing does.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldErrors;
use crate::studies::consent::rules::{statement_field, ConsentStatement, Information};
use crate::studies::preview::rules::{Preview, PreviewQuestion, PreviewSection};
use crate::studies::questionnaires::rules::QuestionKind;
use crate::studies::versions::rules::{canonical_json_of, content_hash};

/// At most this many characters in one answer.
pub const ANSWER_MAX: usize = 20_000;
/// At most this many characters in a short answer.
pub const SHORT_ANSWER_MAX: usize = 1_000;

// ---- Consent ----

/// One statement as the participant saw it, and their answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatementAnswer {
    pub text: String,
    pub required: bool,
    pub agreed: bool,
}

/// SHA-256 of exactly what the participant was shown: the information sheet and its statements.
pub fn information_hash(info: &Information) -> String {
    content_hash(&canonical_json_of(
        &serde_json::to_value(info).expect("an information sheet is plain data"),
    ))
}

/// Each statement with whether its box was ticked; every required one must be. The error sits beside
/// the box, named as the form names it.
pub fn check_consent(
    statements: &[ConsentStatement],
    ticked: &[bool],
) -> Result<Vec<StatementAnswer>, FieldErrors> {
    let answers: Vec<StatementAnswer> = statements
        .iter()
        .enumerate()
        .map(|(i, s)| StatementAnswer {
            text: s.text.clone(),
            required: s.required,
            agreed: ticked.get(i).copied().unwrap_or(false),
        })
        .collect();
    let errors: FieldErrors = answers
        .iter()
        .enumerate()
        .filter(|(_, a)| a.required && !a.agreed)
        .map(|(i, _)| {
            (
                statement_field(i),
                "Tick this box to take part, or choose \u{201c}I do not want to take part\u{201d}"
                    .to_string(),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(answers)
    } else {
        Err(errors)
    }
}

/// A decline agrees to nothing.
pub fn declined(statements: &[ConsentStatement]) -> Vec<StatementAnswer> {
    statements
        .iter()
        .map(|s| StatementAnswer {
            text: s.text.clone(),
            required: s.required,
            agreed: false,
        })
        .collect()
}

// ---- Whose wording ----

// ---- Answers ----

/// An answer as stored: the text, the chosen label, or chosen labels one per line; or a skip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Answer {
    pub value: String,
    pub skipped: bool,
}

impl Answer {
    /// The chosen labels (one, or several for "choose any").
    pub fn choices(&self) -> impl Iterator<Item = &str> {
        self.value.lines()
    }
}

/// Answers by question id.
pub type Answers = HashMap<i64, Answer>;

/// The id the form gives a question's field (and the error summary links to).
pub fn field_name(question_id: i64) -> String {
    format!("q-{question_id}")
}

pub fn skip_field_name(question_id: i64) -> String {
    format!("skip-{question_id}")
}

/// Checks what was entered for one question: None when nothing was, the stored value when it is
/// valid, or a message to show beside the field.
pub fn check_answer(q: &PreviewQuestion, given: &[&str]) -> Result<Option<String>, String> {
    let given: Vec<&str> = given
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .collect();
    if given.is_empty() {
        return Ok(None);
    }
    let one = given[0];
    match q.kind {
        QuestionKind::LongText | QuestionKind::ShortText => {
            let max = if q.kind == QuestionKind::ShortText {
                SHORT_ANSWER_MAX
            } else {
                ANSWER_MAX
            };
            let count = one.chars().count();
            if count > max {
                return Err(format!(
                    "Your answer can be up to {} characters. It is {} characters now",
                    thousands(max),
                    thousands(count)
                ));
            }
            // Line endings as browsers send them (CRLF) become plain newlines, so offsets in the
            // stored text are the same whichever browser sent it.
            Ok(Some(one.replace("\r\n", "\n")))
        }
        QuestionKind::MultipleChoice => {
            if given.iter().any(|v| !q.answers.iter().any(|a| a == v)) {
                return Err("Choose from the answers shown".into());
            }
            let chosen: Vec<&str> = q
                .answers
                .iter()
                .filter(|a| given.contains(&a.as_str()))
                .map(String::as_str)
                .collect();
            Ok(Some(chosen.join("\n")))
        }
        QuestionKind::SingleChoice
        | QuestionKind::Likert
        | QuestionKind::Scale0To10
        | QuestionKind::YesNoNotSure => {
            if given.len() > 1 || !q.answers.iter().any(|a| a == one) {
                return Err("Choose one of the answers shown".into());
            }
            Ok(Some(one.to_string()))
        }
        QuestionKind::Number => match one.replace(',', "").parse::<f64>() {
            Ok(n) if n.is_finite() && one.len() <= 30 => Ok(Some(one.replace(',', ""))),
            _ => Err("Enter a number, like 3 or 2.5".into()),
        },
        // One box (the API, the interview guide): read as every staff date is (`web::dates`).
        // Participants' pages send the three boxes of `date_from_parts`.
        QuestionKind::Date => crate::web::dates::parse_day(one)
            .map(|d| Some(d.to_string()))
            .ok_or_else(|| "Enter a real date, like 27/3/2026".into()),
    }
}

/// The names of a date question's three boxes (day, month, year) on a participant's page. The day's
/// is the question's own field name, so links to the question land in its first box.
pub fn date_field_names(question_id: i64) -> [String; 3] {
    let field = field_name(question_id);
    [
        field.clone(),
        format!("{field}-month"),
        format!("{field}-year"),
    ]
}

/// A date typed in three boxes, as the GOV.UK date pattern asks for it: None when all are empty, the
/// date as year-month-day, or what is wrong in words.
pub fn date_from_parts(day: &str, month: &str, year: &str) -> Result<Option<String>, String> {
    let parts = [
        ("day", day.trim()),
        ("month", month.trim()),
        ("year", year.trim()),
    ];
    let missing: Vec<&str> = parts
        .iter()
        .filter(|(_, value)| value.is_empty())
        .map(|(name, _)| *name)
        .collect();
    if missing.len() == parts.len() {
        return Ok(None);
    }
    if !missing.is_empty() {
        return Err(format!(
            "The date must include a {}",
            missing.join(" and a ")
        ));
    }
    let number = |value: &str| value.parse::<u32>().ok().filter(|_| value.len() <= 4);
    let (Some(d), Some(m), Some(y)) = (number(parts[0].1), number(parts[1].1), number(parts[2].1))
    else {
        return Err("The date must be in numbers, like 27 3 2026".into());
    };
    if parts[2].1.len() != 4 {
        return Err("The year must have 4 numbers, like 2026".into());
    }
    let year = i32::try_from(y).map_err(|_| "The year must have 4 numbers, like 2026")?;
    chrono::NaiveDate::from_ymd_opt(year, m, d)
        .map(|date| Some(date.to_string()))
        .ok_or_else(|| "The date must be a real date, like 27 3 2026".into())
}

fn thousands(n: usize) -> String {
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

// ---- Pages ----

/// The questionnaire as one participant meets it: one page per section with questions for them.
pub struct Journey {
    pub preview: Arc<Preview>,
    /// Question id → the page (from 0) it is on.
    page_of: HashMap<i64, usize>,
}

impl Journey {
    pub fn new(preview: Arc<Preview>) -> Self {
        let page_of = preview
            .sections
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.questions.iter().map(move |q| (q.id, i)))
            .collect();
        Journey { preview, page_of }
    }

    pub fn pages(&self) -> &[PreviewSection] {
        &self.preview.sections
    }

    pub fn page(&self, index: usize) -> Option<&PreviewSection> {
        self.preview.sections.get(index)
    }

    /// Whether a question is put to the participant on page `index`. A condition on an earlier page
    /// is decided by the answer given there; one on the same page cannot be decided before the page is
    /// sent (no JavaScript needed), so the question is shown with its condition spelt out, and the
    /// answer kept only if the condition is met.
    pub fn is_shown(&self, index: usize, q: &PreviewQuestion, answers: &Answers) -> bool {
        match &q.condition {
            None => true,
            Some(c) if self.page_of.get(&c.question_id) == Some(&index) => true,
            Some(_) => self.condition_met(q, answers),
        }
    }

    /// Whether a question's condition is met by the answers: never when this participant is not asked
    /// the question it depends on.
    pub fn condition_met(&self, q: &PreviewQuestion, answers: &Answers) -> bool {
        match &q.condition {
            None => true,
            Some(c) => {
                c.number.is_some()
                    && answers
                        .get(&c.question_id)
                        .is_some_and(|a| a.choices().any(|v| c.answers.iter().any(|x| x == v)))
            }
        }
    }

    /// The questions of a page that are put to the participant.
    pub fn shown<'a>(
        &'a self,
        index: usize,
        answers: &'a Answers,
    ) -> impl Iterator<Item = &'a PreviewQuestion> + 'a {
        self.page(index)
            .into_iter()
            .flat_map(|p| &p.questions)
            .filter(move |q| self.is_shown(index, q, answers))
    }

    fn has_questions(&self, index: usize, answers: &Answers) -> bool {
        self.shown(index, answers).next().is_some()
    }

    /// The pages with something to answer, given the answers so far.
    pub fn live_pages(&self, answers: &Answers) -> Vec<usize> {
        (0..self.pages().len())
            .filter(|i| self.has_questions(*i, answers))
            .collect()
    }

    pub fn next_page(&self, from: usize, answers: &Answers) -> Option<usize> {
        (from + 1..self.pages().len()).find(|i| self.has_questions(*i, answers))
    }

    pub fn previous_page(&self, from: usize, answers: &Answers) -> Option<usize> {
        (0..from).rev().find(|i| self.has_questions(*i, answers))
    }

    /// Minutes it may take to answer the pages from `from` on, rounded up: a long answer takes longer
    /// than a tick.
    pub fn minutes_left(&self, from: usize, answers: &Answers) -> u32 {
        let seconds: u32 = (from..self.pages().len())
            .flat_map(|i| self.shown(i, answers).collect::<Vec<_>>())
            .map(|q| q.kind.seconds_to_answer())
            .sum();
        seconds.div_ceil(60)
    }

    /// Required questions put to the participant and not yet answered, page by page, with the
    /// message to show beside each.
    pub fn unanswered_required(&self, answers: &Answers) -> Vec<(usize, i64)> {
        (0..self.pages().len())
            .flat_map(|i| {
                self.shown(i, answers)
                    .filter(|q| {
                        q.required
                            && self.condition_met_or_unconditional(q, answers)
                            && answers.get(&q.id).is_none_or(|a| a.value.is_empty())
                    })
                    .map(move |q| (i, q.id))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn condition_met_or_unconditional(&self, q: &PreviewQuestion, answers: &Answers) -> bool {
        q.condition.is_none() || self.condition_met(q, answers)
    }
}

/// What one page's form gave: the answers to store (None: clear it), what to show again, and the
/// problems beside each field in page order.
#[derive(Debug, Default)]
pub struct PageInput {
    pub changes: Vec<(i64, Option<Answer>)>,
    /// The raw entries by field name, to show the form again as it was sent.
    pub entered: HashMap<String, Vec<String>>,
    /// Problems with what was entered; these answers are not stored.
    pub invalid: Vec<(String, String)>,
    /// Required questions left empty (only a problem when going on).
    pub missing: Vec<(String, String)>,
}

/// Reads a page's form (field name, value pairs, repeated for "choose any") against the questions put
/// to the participant on page `index`.
pub fn read_page(
    journey: &Journey,
    index: usize,
    form: &[(String, String)],
    answers_before: &Answers,
) -> PageInput {
    let mut entered: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in form {
        entered.entry(name.clone()).or_default().push(value.clone());
    }
    let mut input = PageInput::default();
    // Answers on this page decide conditions on later questions of this page.
    let mut answers = answers_before.clone();
    for q in journey.shown(index, answers_before) {
        let field = field_name(q.id);
        let first = |name: &str| {
            entered
                .get(name)
                .and_then(|v| v.first())
                .map_or("", String::as_str)
        };
        let typed_date = match q.kind {
            QuestionKind::Date => {
                let [day, month, year] = date_field_names(q.id);
                Some(date_from_parts(first(&day), first(&month), first(&year)))
            }
            _ => None,
        };
        let given: Vec<&str> = match &typed_date {
            Some(Ok(Some(date))) => vec![date.as_str()],
            Some(_) => Vec::new(),
            None => entered
                .get(&field)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default(),
        };
        if !journey.condition_met_or_unconditional(q, &answers) {
            answers.remove(&q.id);
            input.changes.push((q.id, None));
            continue;
        }
        let skipped = !q.required && entered.contains_key(&skip_field_name(q.id));
        if let Some(Err(message)) = &typed_date {
            if !skipped {
                input.invalid.push((field, message.clone()));
                continue;
            }
        }
        let stored = match check_answer(q, &given) {
            Err(message) => {
                input.invalid.push((field, message));
                continue;
            }
            Ok(_) if skipped => Some(Answer {
                value: String::new(),
                skipped: true,
            }),
            Ok(value) => value.map(|value| Answer {
                value,
                skipped: false,
            }),
        };
        match &stored {
            Some(answer) => {
                answers.insert(q.id, answer.clone());
            }
            None => {
                answers.remove(&q.id);
                if q.required {
                    input.missing.push((field, missing_message(q)));
                }
            }
        }
        input.changes.push((q.id, stored));
    }
    input.entered = entered;
    input
}

fn missing_message(q: &PreviewQuestion) -> String {
    needs_answer(q, "to go on")
}

/// The message for a required question found unanswered at submission.
pub fn unanswered_message(q: &PreviewQuestion) -> String {
    needs_answer(q, "before you send your answers")
}

fn needs_answer(q: &PreviewQuestion, when: &str) -> String {
    let number = q.number;
    match q.kind {
        QuestionKind::LongText | QuestionKind::ShortText => {
            format!("Answer question {number} {when}")
        }
        QuestionKind::Number | QuestionKind::Date => {
            format!("Enter an answer to question {number} {when}")
        }
        _ => format!("Choose an answer to question {number} {when}"),
    }
}

/// Applies a page's changes to the answers held in memory, as the store applies them.
pub fn apply(answers: &mut Answers, changes: &[(i64, Option<Answer>)]) {
    for (id, change) in changes {
        match change {
            Some(answer) => {
                answers.insert(*id, answer.clone());
            }
            None => {
                answers.remove(id);
            }
        }
    }
}

// ---- Withdrawal ----

/// What withdrawing does now, as explained to the participant before they confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "effect", rename_all = "snake_case")]
pub enum Withdrawal {
    /// Nothing was answered yet: only the consent record is marked.
    NothingToDelete,
    /// Before the cut-off: the answers are deleted.
    DeleteAnswers {
        #[serde(with = "crate::db::utc::option")]
        cut_off: Option<NaiveDateTime>,
    },
    /// After the cut-off: the study's stated policy applies to the answers.
    KeepAnswers {
        #[serde(with = "crate::db::utc")]
        cut_off: NaiveDateTime,
    },
    /// The answers were kept without any link to the participant at submission, so they cannot be
    /// found to delete.
    CannotFind,
}

/// The cut-off is `withdrawal_days` after the answers were sent; answers not yet sent can always be
/// deleted.
pub fn withdrawal(
    has_answers: bool,
    anonymised: bool,
    submitted_at: Option<NaiveDateTime>,
    withdrawal_days: i32,
    now: NaiveDateTime,
) -> Withdrawal {
    if anonymised {
        return Withdrawal::CannotFind;
    }
    if !has_answers {
        return Withdrawal::NothingToDelete;
    }
    match submitted_at {
        None => Withdrawal::DeleteAnswers { cut_off: None },
        Some(sent) => {
            let cut_off = sent + chrono::Duration::days(i64::from(withdrawal_days));
            if now < cut_off {
                Withdrawal::DeleteAnswers {
                    cut_off: Some(cut_off),
                }
            } else {
                Withdrawal::KeepAnswers { cut_off }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::studies::preview::rules::preview;
    use crate::studies::preview::rules::tests as preview_tests;
    use crate::studies::preview::rules::Audience;
    use crate::studies::versions::rules::SnapshotQuestion;

    fn question(id: i64, kind: &str) -> SnapshotQuestion {
        let mut q = preview_tests::question(id, &format!("Question {id}"));
        q.kind = kind.into();
        q.options = vec!["Often".into(), "Sometimes".into(), "Never".into()];
        q
    }

    fn journey(sections: Vec<Vec<SnapshotQuestion>>, audience: Audience) -> Journey {
        Journey::new(Arc::new(preview(
            &preview_tests::snapshot(sections),
            audience,
        )))
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn required_statements_must_be_ticked_and_optional_ones_may_be_left() {
        let statements = vec![
            ConsentStatement {
                text: "I agree to take part".into(),
                required: true,
            },
            ConsentStatement {
                text: "You may quote me".into(),
                required: false,
            },
        ];
        let errors = check_consent(&statements, &[false, true]).unwrap_err();
        assert!(errors.contains_key("statement_1"));
        assert!(!errors.contains_key("statement_2"));
        let agreed = check_consent(&statements, &[true]).unwrap();
        assert!(agreed[0].agreed && !agreed[1].agreed);
        assert!(declined(&statements).iter().all(|s| !s.agreed));
    }

    #[test]
    fn the_hash_changes_with_any_word_shown() {
        let mut info = Information {
            summary: "We ask about involvement.".into(),
            ..Information::default()
        };
        let before = information_hash(&info);
        assert_eq!(before, information_hash(&info.clone()));
        assert_eq!(before.len(), 64);
        info.consent_statements.push(ConsentStatement {
            text: "I agree".into(),
            required: true,
        });
        assert_ne!(before, information_hash(&info));
    }

    #[test]
    fn answers_are_checked_against_their_question() {
        let journey = journey(
            vec![vec![
                question(1, "multiple_choice"),
                question(2, "likert"),
                question(3, "long_text"),
                question(4, "number"),
                question(5, "date"),
            ]],
            Audience::Staff,
        );
        let q = |i: usize| &journey.pages()[0].questions[i];
        assert_eq!(
            check_answer(q(0), &["Never", "Often"]),
            Ok(Some("Often\nNever".into())),
            "kept in the order shown"
        );
        assert!(check_answer(q(0), &["Always"]).is_err());
        assert!(check_answer(q(1), &["Sometimes", "Never"]).is_err());
        assert_eq!(check_answer(q(2), &["  "]), Ok(None));
        assert_eq!(check_answer(q(2), &["a\r\nb"]), Ok(Some("a\nb".into())));
        let long = "é".repeat(ANSWER_MAX + 1);
        assert_eq!(
            check_answer(q(2), &[long.as_str()]).unwrap_err(),
            "Your answer can be up to 20,000 characters. It is 20,001 characters now"
        );
        assert!(check_answer(q(2), &["é".repeat(ANSWER_MAX).as_str()]).is_ok());
        assert_eq!(check_answer(q(3), &["1,200"]), Ok(Some("1200".into())));
        assert!(check_answer(q(3), &["many"]).is_err());
        for written in ["2026-03-27", "27/03/2026", "27/3/2026"] {
            assert_eq!(
                check_answer(q(4), &[written]),
                Ok(Some("2026-03-27".into())),
                "{written}"
            );
        }
        assert!(check_answer(q(4), &["31/02/2026"]).is_err());
        assert!(check_answer(q(4), &["03/27/2026"]).is_err());
    }

    #[test]
    fn dates_come_in_three_boxes_and_problems_are_said_in_words() {
        assert_eq!(date_from_parts("", " ", ""), Ok(None));
        assert_eq!(
            date_from_parts(" 7", "3 ", "2026"),
            Ok(Some("2026-03-07".into()))
        );
        assert_eq!(
            date_from_parts("27", "", "2026").unwrap_err(),
            "The date must include a month"
        );
        assert_eq!(
            date_from_parts("", "", "2026").unwrap_err(),
            "The date must include a day and a month"
        );
        assert_eq!(
            date_from_parts("30", "2", "2026").unwrap_err(),
            "The date must be a real date, like 27 3 2026"
        );
        assert_eq!(
            date_from_parts("27", "March", "2026").unwrap_err(),
            "The date must be in numbers, like 27 3 2026"
        );
        assert_eq!(
            date_from_parts("27", "3", "26").unwrap_err(),
            "The year must have 4 numbers, like 2026"
        );
    }

    #[test]
    fn conditions_on_earlier_pages_hide_questions_and_pages() {
        let first = question(1, "yes_no_not_sure");
        let mut second = question(2, "long_text");
        second.show_if_question_id = Some(1);
        second.show_if_answers = vec!["Yes".into()];
        let mut same_page = question(3, "long_text");
        same_page.show_if_question_id = Some(1);
        same_page.show_if_answers = vec!["No".into()];
        let journey = journey(
            vec![
                vec![first, same_page],
                vec![second],
                vec![question(4, "short_text")],
            ],
            Audience::Carer,
        );
        let mut answers = Answers::new();
        assert_eq!(journey.live_pages(&answers), vec![0, 2]);
        assert_eq!(journey.next_page(0, &answers), Some(2));
        assert_eq!(
            journey.shown(0, &answers).count(),
            2,
            "same-page conditions are shown"
        );
        answers.insert(
            1,
            Answer {
                value: "Yes".into(),
                skipped: false,
            },
        );
        assert_eq!(journey.live_pages(&answers), vec![0, 1, 2]);
        assert_eq!(journey.previous_page(2, &answers), Some(1));

        // A same-page answer whose condition is not met is dropped.
        let input = read_page(
            &journey,
            0,
            &form(&[("q-1", "Yes"), ("q-3", "Only if no")]),
            &Answers::new(),
        );
        assert_eq!(input.changes.len(), 2);
        assert_eq!(input.changes[1], (3, None));
    }

    #[test]
    fn a_page_keeps_good_answers_and_reports_the_rest_in_order() {
        let mut required = question(1, "single_choice");
        required.required = true;
        let optional = question(2, "long_text");
        let choice = question(3, "single_choice");
        let journey = journey(vec![vec![required, optional, choice]], Audience::Staff);
        let input = read_page(
            &journey,
            0,
            &form(&[("skip-2", "on"), ("q-3", "Rarely")]),
            &Answers::new(),
        );
        assert_eq!(
            input.missing,
            vec![(
                "q-1".into(),
                "Choose an answer to question 1 to go on".into()
            )]
        );
        assert_eq!(input.invalid[0].0, "q-3");
        assert_eq!(
            input.changes,
            vec![
                (1, None),
                (
                    2,
                    Some(Answer {
                        value: String::new(),
                        skipped: true
                    })
                )
            ]
        );
        assert_eq!(input.entered["q-3"], vec!["Rarely"]);
    }

    #[test]
    fn time_left_counts_what_is_still_to_come() {
        let journey = journey(
            vec![
                vec![question(1, "long_text"), question(2, "likert")],
                vec![question(3, "short_text")],
            ],
            Audience::Staff,
        );
        assert_eq!(journey.minutes_left(0, &Answers::new()), 3);
        assert_eq!(journey.minutes_left(1, &Answers::new()), 1);
        assert_eq!(journey.minutes_left(2, &Answers::new()), 0);
    }

    #[test]
    fn withdrawing_deletes_answers_until_the_cut_off() {
        let sent = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let days = |n| sent + chrono::Duration::days(n);
        assert_eq!(
            withdrawal(false, false, None, 14, sent),
            Withdrawal::NothingToDelete
        );
        assert_eq!(
            withdrawal(true, false, None, 0, sent),
            Withdrawal::DeleteAnswers { cut_off: None }
        );
        assert_eq!(
            withdrawal(true, false, Some(sent), 14, days(13)),
            Withdrawal::DeleteAnswers {
                cut_off: Some(days(14))
            }
        );
        assert_eq!(
            withdrawal(true, false, Some(sent), 14, days(14)),
            Withdrawal::KeepAnswers { cut_off: days(14) }
        );
        assert_eq!(
            withdrawal(true, true, Some(sent), 14, sent),
            Withdrawal::CannotFind
        );
    }
}
