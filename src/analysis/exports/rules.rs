//! What the response and codebook exports hold, with no storage or HTTP: the questions of each
//! published version, answers as labels or as option codes, the wide and long CSV layouts (every
//! cell Excel-safe, a byte order mark first so Excel reads UTF-8), the JSON document, and file names.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::analysis::codebook::actions::Codebook;
use crate::analysis::codebook::rules::PALETTE;
use crate::distribution::csv_cell;
use crate::studies::preview::rules::{preview, Audience};
use crate::studies::questionnaires::rules::QuestionKind;
use crate::studies::versions::rules::Snapshot;

/// Choices as their labels, or as codes: option positions 1..n (Likert 1..5 or 1..7, "Not
/// applicable" as NA; 0–10 scales as their number).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Values {
    #[default]
    Labels,
    Codes,
}

/// Wide: one row per response, one column per question. Long: one row per answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    #[default]
    Wide,
    Long,
}

/// A question as an export names it, in the version a response answered.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ExportQuestion {
    pub id: i64,
    /// 1, 2, … in the interview guide's order of that version.
    pub number: usize,
    pub text: String,
    pub kind: String,
    /// What could be chosen, in order (their positions are the codes); empty for open questions.
    pub choices: Vec<String>,
}

/// One published version's questions.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct VersionQuestions {
    pub version_id: i64,
    pub version_number: i32,
    #[serde(with = "crate::db::utc")]
    pub published_at: NaiveDateTime,
    pub questions: Vec<ExportQuestion>,
}

impl VersionQuestions {
    pub fn from_snapshot(
        version_id: i64,
        version_number: i32,
        published_at: NaiveDateTime,
        snapshot: &Snapshot,
    ) -> Self {
        let guide = preview(snapshot, Audience::Interviewer);
        let questions = guide
            .sections
            .into_iter()
            .flat_map(|s| s.questions)
            .map(|q| ExportQuestion {
                id: q.id,
                number: q.number,
                // The main text, as written; each audience's wording is in the guide.
                text: snapshot
                    .sections
                    .iter()
                    .flat_map(|s| &s.questions)
                    .find(|sq| sq.id == q.id)
                    .map_or(q.text.clone(), |sq| sq.text.clone()),
                kind: q.kind.as_str().into(),
                choices: if matches!(q.kind, QuestionKind::LongText | QuestionKind::ShortText) {
                    Vec::new()
                } else {
                    q.answers
                },
            })
            .collect();
        VersionQuestions {
            version_id,
            version_number,
            published_at,
            questions,
        }
    }
}

/// A response as exports show it: pseudonymous code and research attributes, never identities.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportResponse {
    pub id: i64,
    /// None once the response is anonymised.
    pub code: Option<String>,
    pub group: String,
    pub service: String,
    pub level: String,
    pub mode: String,
    pub audience: String,
    pub version_id: i64,
    pub started_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExportAnswer {
    pub question_id: i64,
    pub value: String,
    pub skipped: bool,
    pub notes: String,
    pub status: String,
}

/// Everything one export holds.
#[derive(Debug, Clone)]
pub struct ExportData {
    pub study_id: i64,
    pub study_title: String,
    pub questionnaire_id: i64,
    pub questionnaire_title: String,
    /// Oldest first.
    pub versions: Vec<VersionQuestions>,
    /// In response order, each with its answers.
    pub responses: Vec<(ExportResponse, Vec<ExportAnswer>)>,
}

/// The code of one chosen label: its position from 1, "NA" for a Likert "Not applicable", the number
/// itself on a 0–10 scale; the label as given when it is not among the choices.
fn code_of(q: &ExportQuestion, label: &str) -> String {
    if q.kind == QuestionKind::Scale0To10.as_str() {
        return label.to_string();
    }
    if q.kind == QuestionKind::Likert.as_str() && label == "Not applicable" {
        return "NA".into();
    }
    q.choices
        .iter()
        .position(|c| c == label)
        .map_or_else(|| label.to_string(), |i| (i + 1).to_string())
}

/// An answer as one CSV cell: text as given; several choices joined with `;`.
pub fn cell_value(q: Option<&ExportQuestion>, value: &str, values: Values) -> String {
    let Some(q) = q.filter(|q| !q.choices.is_empty()) else {
        return value.to_string();
    };
    let chosen = value.lines();
    match values {
        Values::Labels => chosen.collect::<Vec<_>>().join(";"),
        Values::Codes => chosen.map(|l| code_of(q, l)).collect::<Vec<_>>().join(";"),
    }
}

/// An answer in the JSON export: text as a string; a choice as its label or its code (a number where
/// it is one); "choose any" as a list.
pub fn json_value(q: Option<&ExportQuestion>, value: &str, values: Values) -> Value {
    let Some(q) = q.filter(|q| !q.choices.is_empty()) else {
        return Value::String(value.to_string());
    };
    let one = |label: &str| match values {
        Values::Labels => Value::String(label.to_string()),
        Values::Codes => {
            let code = code_of(q, label);
            code.parse::<i64>().map_or(Value::String(code), Value::from)
        }
    };
    if q.kind == QuestionKind::MultipleChoice.as_str() {
        Value::Array(value.lines().map(one).collect())
    } else if value.is_empty() {
        Value::String(String::new())
    } else {
        one(value)
    }
}

/// A column of the wide layout: a question, by its id, named as in the newest version that has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub question_id: i64,
    pub header: String,
    /// Interview notes get a column of their own when any response has notes for the question.
    pub notes: bool,
}

fn header(q: &ExportQuestion) -> String {
    format!("Q{} {}", q.number, q.text)
}

/// The wide layout's question columns: the newest version's questions in order, then questions only
/// older versions had.
pub fn columns(data: &ExportData) -> Vec<Column> {
    let with_notes: HashSet<i64> = data
        .responses
        .iter()
        .flat_map(|(_, answers)| answers)
        .filter(|a| !a.notes.trim().is_empty())
        .map(|a| a.question_id)
        .collect();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for version in data.versions.iter().rev() {
        for q in &version.questions {
            if seen.insert(q.id) {
                out.push(Column {
                    question_id: q.id,
                    header: header(q),
                    notes: with_notes.contains(&q.id),
                });
            }
        }
    }
    out
}

/// Question id → question, per version id.
fn lookup(data: &ExportData) -> HashMap<i64, (i32, HashMap<i64, &ExportQuestion>)> {
    data.versions
        .iter()
        .map(|v| {
            (
                v.version_id,
                (
                    v.version_number,
                    v.questions.iter().map(|q| (q.id, q)).collect(),
                ),
            )
        })
        .collect()
}

fn time(at: Option<NaiveDateTime>) -> String {
    at.map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_default()
}

pub(crate) struct Csv(csv::Writer<Vec<u8>>);

impl Csv {
    /// A byte order mark first, as the roster export does, so Excel reads the file as UTF-8.
    pub(crate) fn new() -> Self {
        Csv(csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec()))
    }

    pub(crate) fn row<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.0
            .write_record(cells.into_iter().map(|c| csv_cell(c.as_ref()).into_owned()))
            .expect("writing to memory");
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.into_inner().expect("writing to memory")
    }
}

const RESPONSE_COLUMNS: [&str; 8] = [
    "response_id",
    "participant_code",
    "group",
    "service",
    "level",
    "mode",
    "version",
    "submitted_at",
];

/// One row per response; a question's column holds its answer, empty when not answered or skipped
/// (the `skipped` column lists the numbers of skipped questions).
pub fn wide_csv(data: &ExportData, values: Values) -> Vec<u8> {
    let columns = columns(data);
    let versions = lookup(data);
    let mut csv = Csv::new();
    let mut head: Vec<String> = RESPONSE_COLUMNS.iter().map(|c| c.to_string()).collect();
    for c in &columns {
        head.push(c.header.clone());
        if c.notes {
            head.push(format!("{} (interview notes)", c.header));
        }
    }
    head.push("skipped".into());
    csv.row(&head);
    for (response, answers) in &data.responses {
        let (number, questions) = versions
            .get(&response.version_id)
            .map_or((0, None), |(n, q)| (*n, Some(q)));
        let by_question: HashMap<i64, &ExportAnswer> =
            answers.iter().map(|a| (a.question_id, a)).collect();
        let mut row = vec![
            response.id.to_string(),
            response.code.clone().unwrap_or_default(),
            response.group.clone(),
            response.service.clone(),
            response.level.clone(),
            response.mode.clone(),
            number.to_string(),
            time(response.submitted_at),
        ];
        let mut skipped = Vec::new();
        for c in &columns {
            let question = questions.and_then(|q| q.get(&c.question_id)).copied();
            let answer = by_question.get(&c.question_id);
            row.push(match answer {
                Some(a) if !a.skipped => cell_value(question, &a.value, values),
                Some(_) => {
                    skipped.push(question.map_or(c.question_id as usize, |q| q.number));
                    String::new()
                }
                None => String::new(),
            });
            if c.notes {
                row.push(answer.map(|a| a.notes.clone()).unwrap_or_default());
            }
        }
        skipped.sort_unstable();
        row.push(
            skipped
                .iter()
                .map(|n| format!("Q{n}"))
                .collect::<Vec<_>>()
                .join(";"),
        );
        csv.row(&row);
    }
    csv.finish()
}

/// One row per answer, in question order within each response.
pub fn long_csv(data: &ExportData, values: Values) -> Vec<u8> {
    let versions = lookup(data);
    let mut csv = Csv::new();
    csv.row([
        "response_id",
        "participant_code",
        "group",
        "service",
        "level",
        "question_id",
        "question_number",
        "question_text",
        "value",
        "skipped",
        "status",
        "interview_notes",
    ]);
    for (response, answers) in &data.responses {
        let questions = versions.get(&response.version_id).map(|(_, q)| q);
        let mut rows: Vec<(usize, Vec<String>)> = answers
            .iter()
            .map(|a| {
                let q = questions.and_then(|q| q.get(&a.question_id)).copied();
                let number = q.map_or(usize::MAX, |q| q.number);
                (
                    number,
                    vec![
                        response.id.to_string(),
                        response.code.clone().unwrap_or_default(),
                        response.group.clone(),
                        response.service.clone(),
                        response.level.clone(),
                        a.question_id.to_string(),
                        q.map(|q| q.number.to_string()).unwrap_or_default(),
                        q.map(|q| q.text.clone()).unwrap_or_default(),
                        if a.skipped {
                            String::new()
                        } else {
                            cell_value(q, &a.value, values)
                        },
                        if a.skipped { "yes" } else { "no" }.into(),
                        a.status.clone(),
                        a.notes.clone(),
                    ],
                )
            })
            .collect();
        rows.sort_by_key(|(n, _)| *n);
        for (_, row) in rows {
            csv.row(&row);
        }
    }
    csv.finish()
}

/// The JSON export: the study, questionnaire and versions, each version's questions, and the responses
/// with their answers.
pub fn json_document(data: &ExportData, values: Values) -> Value {
    let versions = lookup(data);
    json!({
        "study": { "id": data.study_id, "title": data.study_title },
        "questionnaire": { "id": data.questionnaire_id, "title": data.questionnaire_title },
        "values": values,
        "versions": data.versions.iter().map(|v| json!({
            "id": v.version_id, "number": v.version_number, "published_at": v.published_at,
        })).collect::<Vec<_>>(),
        "questions": data.versions.iter().rev().flat_map(|v| v.questions.iter().map(move |q| (v, q)))
            .scan(HashSet::new(), |seen, (v, q)| Some(seen.insert(q.id).then(|| json!({
                "id": q.id, "number": q.number, "text": q.text, "kind": q.kind,
                "choices": q.choices, "latest_version": v.version_number,
            }))))
            .flatten()
            .collect::<Vec<_>>(),
        "responses": data.responses.iter().map(|(r, answers)| {
            let (number, questions) = versions.get(&r.version_id).map_or((0, None), |(n, q)| (*n, Some(q)));
            json!({
                "id": r.id, "participant_code": r.code, "group": r.group, "service": r.service,
                "level": r.level, "mode": r.mode, "audience": r.audience, "version": number,
                "version_id": r.version_id, "started_at": r.started_at, "submitted_at": r.submitted_at,
                "answers": answers.iter().map(|a| {
                    let q = questions.and_then(|q| q.get(&a.question_id)).copied();
                    json!({
                        "question_id": a.question_id,
                        "question_number": q.map(|q| q.number),
                        "value": if a.skipped { Value::Null } else { json_value(q, &a.value, values) },
                        "skipped": a.skipped, "status": a.status, "interview_notes": a.notes,
                    })
                }).collect::<Vec<_>>(),
            })
        }).collect::<Vec<_>>(),
    })
}

/// `involvement-responses-wide-2026-11-26.csv`: the study's title in plain lower-case letters, what
/// it is, the day.
pub fn file_name(study_title: &str, what: &str, day: NaiveDate, extension: &str) -> String {
    let mut slug = String::new();
    for c in study_title.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    let slug = if slug.is_empty() { "study" } else { slug };
    format!("{slug}-{what}-{day}.{extension}")
}

/// The colour's `#rrggbb` from its palette name.
pub fn colour_hex(name: &str) -> Option<&'static str> {
    PALETTE
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, hex)| *hex)
}

/// The live codebook as CSV: one row per code in reading order, COM-B and TDF by their labels.
pub fn codebook_csv(codebook: &Codebook) -> Vec<u8> {
    let label = |code: &str| {
        codebook
            .taxonomy
            .iter()
            .find(|t| t.code == code)
            .map_or_else(|| code.to_string(), |t| t.label.clone())
    };
    let names: HashMap<i64, &str> = codebook
        .codes
        .iter()
        .map(|p| (p.code.id, p.code.name.as_str()))
        .collect();
    let mut csv = Csv::new();
    csv.row([
        "code",
        "parent",
        "branch",
        "com_b",
        "tdf",
        "definition",
        "inclusion",
        "exclusion",
        "example",
        "colour",
    ]);
    for placed in &codebook.codes {
        let c = &placed.code;
        csv.row([
            c.name.clone(),
            c.parent_id
                .and_then(|p| names.get(&p))
                .map(|n| n.to_string())
                .unwrap_or_default(),
            c.branch.clone(),
            if c.comb.is_empty() {
                String::new()
            } else {
                label(&c.comb)
            },
            placed
                .tdf
                .iter()
                .map(|t| label(t))
                .collect::<Vec<_>>()
                .join(";"),
            c.definition.clone(),
            c.inclusion.clone(),
            c.exclusion.clone(),
            c.example.clone(),
            colour_hex(&c.colour).unwrap_or("").to_string(),
        ]);
    }
    csv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 26)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
    }

    fn question(id: i64, number: usize, kind: QuestionKind, choices: &[&str]) -> ExportQuestion {
        ExportQuestion {
            id,
            number,
            text: format!("Question {id}"),
            kind: kind.as_str().into(),
            choices: choices.iter().map(|c| c.to_string()).collect(),
        }
    }

    fn data() -> ExportData {
        let likert = [
            "Strongly disagree",
            "Disagree",
            "Neither agree nor disagree",
            "Agree",
            "Strongly agree",
            "Not applicable",
        ];
        let version = |id, number, questions| VersionQuestions {
            version_id: id,
            version_number: number,
            published_at: at(),
            questions,
        };
        let answer = |question_id, value: &str, skipped| ExportAnswer {
            question_id,
            value: value.into(),
            skipped,
            notes: String::new(),
            status: String::new(),
        };
        let response = |id, version_id| ExportResponse {
            id,
            code: Some(format!("P-000{id}")),
            group: "carer".into(),
            service: "Community".into(),
            level: "micro".into(),
            mode: "online".into(),
            audience: "carer".into(),
            version_id,
            started_at: at(),
            submitted_at: Some(at()),
        };
        ExportData {
            study_id: 1,
            study_title: "Involvement".into(),
            questionnaire_id: 2,
            questionnaire_title: "Guide".into(),
            versions: vec![
                version(
                    10,
                    1,
                    vec![
                        question(1, 1, QuestionKind::LongText, &[]),
                        question(9, 2, QuestionKind::YesNoNotSure, &["Yes", "No", "Not sure"]),
                    ],
                ),
                version(
                    11,
                    2,
                    vec![
                        question(1, 1, QuestionKind::LongText, &[]),
                        question(
                            2,
                            2,
                            QuestionKind::MultipleChoice,
                            &["Red", "Green", "Blue"],
                        ),
                        question(3, 3, QuestionKind::Likert, &likert),
                        question(4, 4, QuestionKind::Scale0To10, &[]),
                    ],
                ),
            ],
            responses: vec![
                (
                    response(1, 11),
                    vec![
                        answer(3, "Not applicable", false),
                        answer(2, "Red\nBlue", false),
                        answer(1, "=HYPERLINK(\"x\"), \"quoted\"\nnext line é€", false),
                        answer(4, "", true),
                    ],
                ),
                (response(2, 10), vec![answer(9, "Not sure", false)]),
            ],
        }
    }

    fn read(bytes: &[u8]) -> Vec<Vec<String>> {
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "byte order mark first");
        csv::Reader::from_reader(&bytes[3..])
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect()
    }

    #[test]
    fn codes_are_positions_likert_not_applicable_is_na_and_scales_keep_their_number() {
        let d = data();
        let q = |v: usize, i: usize| &d.versions[v].questions[i];
        assert_eq!(cell_value(Some(q(1, 1)), "Red\nBlue", Values::Codes), "1;3");
        assert_eq!(
            cell_value(Some(q(1, 1)), "Red\nBlue", Values::Labels),
            "Red;Blue"
        );
        assert_eq!(cell_value(Some(q(1, 2)), "Agree", Values::Codes), "4");
        assert_eq!(
            cell_value(Some(q(1, 2)), "Not applicable", Values::Codes),
            "NA"
        );
        let scale = ExportQuestion {
            choices: (0..=10).map(|n| n.to_string()).collect(),
            ..q(1, 3).clone()
        };
        assert_eq!(cell_value(Some(&scale), "0", Values::Codes), "0");
        assert_eq!(
            json_value(Some(q(1, 1)), "Red\nBlue", Values::Codes),
            json!([1, 3])
        );
        assert_eq!(
            json_value(Some(q(1, 2)), "Agree", Values::Labels),
            json!("Agree")
        );
        assert_eq!(json_value(Some(q(0, 0)), "=1", Values::Codes), json!("=1"));
    }

    #[test]
    fn wide_has_a_column_per_question_of_every_version_and_neutralised_cells() {
        let rows = read(&wide_csv(&data(), Values::Codes));
        assert_eq!(rows.len(), 2);
        let first = &rows[0];
        // 8 response columns, questions 1, 2, 3, 4 (newest version), 9 (only in version 1), skipped.
        assert_eq!(first.len(), 8 + 5 + 1);
        assert_eq!(first[6], "2", "version number");
        assert_eq!(first[8], "'=HYPERLINK(\"x\"), \"quoted\"\nnext line é€");
        assert_eq!(&first[9..12], ["1;3", "NA", ""]);
        assert_eq!(first[13], "Q4");
        assert_eq!(rows[1][12], "3", "Not sure is the third choice");
    }

    #[test]
    fn long_has_a_row_per_answer_in_question_order() {
        let rows = read(&long_csv(&data(), Values::Labels));
        assert_eq!(rows.len(), 5);
        let numbers: Vec<&str> = rows.iter().map(|r| r[6].as_str()).collect();
        assert_eq!(numbers, ["1", "2", "3", "4", "2"]);
        assert_eq!(rows[1][8], "Red;Blue");
        assert_eq!(rows[3][9], "yes");
        assert!(rows[0][8].starts_with("'="));
    }

    #[test]
    fn json_lists_each_question_once_and_skips_as_null() {
        let doc = json_document(&data(), Values::Labels);
        let ids: Vec<i64> = doc["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [1, 2, 3, 4, 9]);
        let answers = &doc["responses"][0]["answers"];
        assert_eq!(answers[1]["value"], json!(["Red", "Blue"]));
        assert_eq!(answers[3]["value"], Value::Null);
        assert_eq!(doc["responses"][0]["version"], 2);
    }

    #[test]
    fn file_names_are_plain() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        assert_eq!(
            file_name("Involvement", "responses-wide", day, "csv"),
            "involvement-responses-wide-2026-11-26.csv"
        );
        assert_eq!(
            file_name("Café: \"Who's in?\" ", "codebook", day, "qdc"),
            "caf-who-s-in-codebook-2026-11-26.qdc"
        );
        assert_eq!(file_name("", "x", day, "json"), "study-x-2026-11-26.json");
    }
}
