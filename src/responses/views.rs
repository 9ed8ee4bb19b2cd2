//! What participants' pages show, built from the journey and the answers: each question ready for its
//! form control, the review list, and progress. No storage or HTTP here.

use std::collections::HashMap;

use serde::Serialize;

use super::rules::{date_field_names, field_name, skip_field_name, Answers, Journey};
use crate::studies::preview::rules::PreviewQuestion;
use crate::studies::questionnaires::rules::QuestionKind;

/// One question as its form control needs it.
#[derive(Debug, Serialize)]
pub struct QuestionView {
    pub id: i64,
    pub field: String,
    pub skip_field: String,
    pub number: usize,
    pub kind: &'static str,
    pub text: String,
    pub help_text: String,
    pub required: bool,
    pub choices: Vec<Choice>,
    /// The text in the box (text, number and date questions).
    pub value: String,
    pub skipped: bool,
    /// "Answer this only if …" for a question whose condition is on the same page.
    pub condition: Option<String>,
    pub error: Option<String>,
    /// The ids of the hints and error that describe the field, for `aria-describedby`.
    pub described_by: String,
    /// A date question's three boxes: their names and what is in them.
    pub date: Option<[DateBox; 3]>,
}

#[derive(Debug, Serialize)]
pub struct DateBox {
    pub name: String,
    pub label: &'static str,
    pub value: String,
}

/// What a date question's boxes show: what was just typed in them, or the stored date as day, month
/// and year ("2026-03-07" shows 7, 3 and 2026).
fn date_boxes(
    question_id: i64,
    stored: Option<&str>,
    entered: Option<&HashMap<String, Vec<String>>>,
) -> [DateBox; 3] {
    let names = date_field_names(question_id);
    let values: [String; 3] = match entered {
        Some(entered) => names.clone().map(|name| {
            entered
                .get(&name)
                .and_then(|v| v.first())
                .cloned()
                .unwrap_or_default()
        }),
        None => stored
            .and_then(|date| chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok())
            .map(|date| {
                use chrono::Datelike;
                [
                    date.day().to_string(),
                    date.month().to_string(),
                    date.year().to_string(),
                ]
            })
            .unwrap_or_default(),
    };
    let [day, month, year] = names;
    let [day_value, month_value, year_value] = values;
    [
        DateBox {
            name: day,
            label: "Day",
            value: day_value,
        },
        DateBox {
            name: month,
            label: "Month",
            value: month_value,
        },
        DateBox {
            name: year,
            label: "Year",
            value: year_value,
        },
    ]
}

#[derive(Debug, Serialize)]
pub struct Choice {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

fn quoted_list(answers: &[String]) -> String {
    let quoted: Vec<String> = answers
        .iter()
        .map(|a| format!("\u{201c}{a}\u{201d}"))
        .collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The questions on page `index`, showing what was just entered (`entered`, when the page comes back
/// with errors) or else what is stored.
pub fn page_questions(
    journey: &Journey,
    index: usize,
    answers: &Answers,
    entered: Option<&HashMap<String, Vec<String>>>,
    errors: &[(String, String)],
) -> Vec<QuestionView> {
    journey
        .shown(index, answers)
        .map(|q| {
            let field = field_name(q.id);
            let skip_field = skip_field_name(q.id);
            let (values, skipped): (Vec<String>, bool) = match entered {
                Some(entered) => (
                    entered.get(&field).cloned().unwrap_or_default(),
                    entered.contains_key(&skip_field),
                ),
                None => answers.get(&q.id).map_or((Vec::new(), false), |a| {
                    (a.choices().map(str::to_string).collect(), a.skipped)
                }),
            };
            let choices = q
                .answers
                .iter()
                .enumerate()
                .map(|(i, label)| Choice {
                    id: format!("{field}-{}", i + 1),
                    label: label.clone(),
                    checked: values.iter().any(|v| v == label),
                })
                .collect();
            let condition = q
                .condition
                .as_ref()
                .filter(|_| is_same_page_condition(journey, index, q))
                .map(|c| {
                    format!(
                        "Answer this only if you answered {} to question {}.",
                        quoted_list(&c.answers),
                        c.number.unwrap_or_default()
                    )
                });
            let error = errors
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, m)| m.clone());
            let described_by = [
                (condition.is_some(), "condition"),
                (!q.help_text.is_empty(), "hint"),
                (
                    matches!(q.kind, QuestionKind::Date | QuestionKind::MultipleChoice),
                    "format",
                ),
                (error.is_some(), "error"),
            ]
            .into_iter()
            .filter(|(present, _)| *present)
            .map(|(_, part)| format!("{field}-{part}"))
            .collect::<Vec<_>>()
            .join(" ");
            QuestionView {
                id: q.id,
                error,
                described_by,
                field,
                skip_field,
                number: q.number,
                kind: q.kind.as_str(),
                text: q.text.clone(),
                help_text: q.help_text.clone(),
                required: q.required,
                choices,
                value: if is_typed(q.kind) {
                    values.join("\n")
                } else {
                    String::new()
                },
                date: (q.kind == QuestionKind::Date).then(|| {
                    let stored = answers.get(&q.id).map(|a| a.value.as_str());
                    date_boxes(q.id, stored, entered)
                }),
                skipped,
                condition,
            }
        })
        .collect()
}

fn is_same_page_condition(journey: &Journey, index: usize, q: &PreviewQuestion) -> bool {
    q.condition.as_ref().is_some_and(|c| {
        journey
            .page(index)
            .is_some_and(|p| p.questions.iter().any(|other| other.id == c.question_id))
    })
}

/// One answered (or not) question on the review and thank-you pages.
#[derive(Debug, Serialize)]
pub struct ReviewItem {
    pub id: i64,
    pub field: String,
    pub number: usize,
    pub text: String,
    /// One line per chosen answer or line of text; empty when not answered.
    pub lines: Vec<String>,
    pub skipped: bool,
    pub required: bool,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ReviewPage {
    /// The page's number in the address (from 1).
    pub page: usize,
    pub title: String,
    pub items: Vec<ReviewItem>,
}

/// Every question put to the participant, page by page, with their answers.
pub fn review(
    journey: &Journey,
    answers: &Answers,
    errors: &[(String, String)],
) -> Vec<ReviewPage> {
    journey
        .live_pages(answers)
        .into_iter()
        .map(|index| {
            let section = journey.page(index).expect("a live page exists");
            ReviewPage {
                page: index + 1,
                title: section.title.clone(),
                items: journey
                    .shown(index, answers)
                    .filter(|q| q.condition.is_none() || journey.condition_met(q, answers))
                    .map(|q| {
                        let field = field_name(q.id);
                        let answer = answers.get(&q.id);
                        ReviewItem {
                            id: q.id,
                            error: errors
                                .iter()
                                .find(|(f, _)| *f == field)
                                .map(|(_, m)| m.clone()),
                            field,
                            number: q.number,
                            text: q.text.clone(),
                            lines: answer
                                .map(|a| a.value.lines().map(str::to_string).collect())
                                .unwrap_or_default(),
                            skipped: answer.is_some_and(|a| a.skipped),
                            required: q.required,
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// "Page 2 of 4" and the minutes left from the start of this page.
#[derive(Debug, Serialize)]
pub struct Progress {
    pub page: usize,
    pub pages: usize,
    pub minutes_left: u32,
    pub previous: Option<usize>,
}

pub fn progress(journey: &Journey, index: usize, answers: &Answers) -> Progress {
    let live = journey.live_pages(answers);
    Progress {
        page: live
            .iter()
            .position(|i| *i == index)
            .map_or(index + 1, |p| p + 1),
        pages: live.len().max(1),
        minutes_left: journey.minutes_left(index, answers),
        previous: journey.previous_page(index, answers).map(|i| i + 1),
    }
}

/// Whether a kind is answered by typing (the others by choosing).
pub fn is_typed(kind: QuestionKind) -> bool {
    matches!(
        kind,
        QuestionKind::LongText
            | QuestionKind::ShortText
            | QuestionKind::Number
            | QuestionKind::Date
    )
}
