//! What the response and codebook exports hold, with no storage or HTTP: the questions of each
//! published version, answers as labels or as option codes, the wide and long CSV layouts (every
//! cell Excel-safe, a byte order mark first so Excel reads UTF-8), the JSON document, and file names.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};

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

/// What a response export is of: the study, the questionnaire and its published versions' questions.
#[derive(Debug, Clone)]
pub struct ExportHead {
    pub study_id: i64,
    pub study_title: String,
    pub questionnaire_id: i64,
    pub questionnaire_title: String,
    /// Oldest first.
    pub versions: Vec<VersionQuestions>,
}

/// A response with its answers.
pub type Answered = (ExportResponse, Vec<ExportAnswer>);

/// Everything one export holds, all at once (for the counts of closed questions).
#[derive(Debug, Clone)]
pub struct ExportData {
    pub head: ExportHead,
    /// In response order, each with its answers.
    pub responses: Vec<Answered>,
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

/// Whether an answer carries interview notes worth a column.
pub fn has_notes(notes: &str) -> bool {
    !notes.trim().is_empty()
}

/// The wide layout's question columns: the newest version's questions in order, then questions only
/// older versions had; `with_notes` are the questions some response has notes for.
pub fn columns(versions: &[VersionQuestions], with_notes: &HashSet<i64>) -> Vec<Column> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for version in versions.iter().rev() {
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

/// Each version's number and its questions by id: how a response's answers are read.
pub struct Questions(HashMap<i64, (i32, HashMap<i64, ExportQuestion>)>);

impl Questions {
    pub fn of(versions: &[VersionQuestions]) -> Self {
        Questions(
            versions
                .iter()
                .map(|v| {
                    let questions = v.questions.iter().map(|q| (q.id, q.clone())).collect();
                    (v.version_id, (v.version_number, questions))
                })
                .collect(),
        )
    }

    /// The version's number (0 if unknown) and its questions.
    fn version(&self, version_id: i64) -> (i32, Option<&HashMap<i64, ExportQuestion>>) {
        self.0
            .get(&version_id)
            .map_or((0, None), |(n, q)| (*n, Some(q)))
    }
}

fn time(at: Option<NaiveDateTime>) -> String {
    at.map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_default()
}

/// CSV as the exports write it: a byte order mark first, as the roster export does, so Excel reads
/// the file as UTF-8; every cell Excel-safe.
pub(crate) struct Csv<W: Write>(csv::Writer<W>);

impl<W: Write> Csv<W> {
    pub(crate) fn new(mut out: W) -> io::Result<Self> {
        out.write_all(b"\xEF\xBB\xBF")?;
        Ok(Csv(csv::Writer::from_writer(out)))
    }

    pub(crate) fn row<S: AsRef<str>>(
        &mut self,
        cells: impl IntoIterator<Item = S>,
    ) -> csv::Result<()> {
        self.0
            .write_record(cells.into_iter().map(|c| csv_cell(c.as_ref()).into_owned()))
    }

    pub(crate) fn finish(self) -> io::Result<W> {
        self.0.into_inner().map_err(|e| e.into_error())
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

/// The wide layout: one row per response; a question's column holds its answer, empty when not
/// answered or skipped (the `skipped` column lists the numbers of skipped questions).
pub struct Wide {
    columns: Vec<Column>,
    questions: Questions,
    values: Values,
}

impl Wide {
    pub fn new(head: &ExportHead, with_notes: &HashSet<i64>, values: Values) -> Self {
        Wide {
            columns: columns(&head.versions, with_notes),
            questions: Questions::of(&head.versions),
            values,
        }
    }

    pub fn header(&self) -> Vec<String> {
        let mut head: Vec<String> = RESPONSE_COLUMNS.iter().map(|c| c.to_string()).collect();
        for c in &self.columns {
            head.push(c.header.clone());
            if c.notes {
                head.push(format!("{} (interview notes)", c.header));
            }
        }
        head.push("skipped".into());
        head
    }

    pub fn row(&self, response: &ExportResponse, answers: &[ExportAnswer]) -> Vec<String> {
        let (number, questions) = self.questions.version(response.version_id);
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
        for c in &self.columns {
            let question = questions.and_then(|q| q.get(&c.question_id));
            let answer = by_question.get(&c.question_id);
            row.push(match answer {
                Some(a) if !a.skipped => cell_value(question, &a.value, self.values),
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
        row
    }
}

/// The long layout's columns: one row per answer.
pub const LONG_COLUMNS: [&str; 12] = [
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
];

/// A response's rows in the long layout, in question order.
pub fn long_rows(
    questions: &Questions,
    response: &ExportResponse,
    answers: &[ExportAnswer],
    values: Values,
) -> Vec<Vec<String>> {
    let (_, questions) = questions.version(response.version_id);
    let mut rows: Vec<(usize, Vec<String>)> = answers
        .iter()
        .map(|a| {
            let q = questions.and_then(|q| q.get(&a.question_id));
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
    rows.into_iter().map(|(_, row)| row).collect()
}

/// The JSON export's document without its responses (`"responses": null` where they go): the study,
/// questionnaire and versions, and each version's questions.
pub fn json_head(head: &ExportHead, values: Values) -> Value {
    json!({
        "study": { "id": head.study_id, "title": head.study_title },
        "questionnaire": { "id": head.questionnaire_id, "title": head.questionnaire_title },
        "values": values,
        "versions": head.versions.iter().map(|v| json!({
            "id": v.version_id, "number": v.version_number, "published_at": v.published_at,
        })).collect::<Vec<_>>(),
        "questions": head.versions.iter().rev().flat_map(|v| v.questions.iter().map(move |q| (v, q)))
            .scan(HashSet::new(), |seen, (v, q)| Some(seen.insert(q.id).then(|| json!({
                "id": q.id, "number": q.number, "text": q.text, "kind": q.kind,
                "choices": q.choices, "latest_version": v.version_number,
            }))))
            .flatten()
            .collect::<Vec<_>>(),
        "responses": Value::Null,
    })
}

/// One response of the JSON export, with its answers.
pub fn json_response(
    questions: &Questions,
    r: &ExportResponse,
    answers: &[ExportAnswer],
    values: Values,
) -> Value {
    let (number, questions) = questions.version(r.version_id);
    json!({
        "id": r.id, "participant_code": r.code, "group": r.group, "service": r.service,
        "level": r.level, "mode": r.mode, "audience": r.audience, "version": number,
        "version_id": r.version_id, "started_at": r.started_at, "submitted_at": r.submitted_at,
        "answers": answers.iter().map(|a| {
            let q = questions.and_then(|q| q.get(&a.question_id));
            json!({
                "question_id": a.question_id,
                "question_number": q.map(|q| q.number),
                "value": if a.skipped { Value::Null } else { json_value(q, &a.value, values) },
                "skipped": a.skipped, "status": a.status, "interview_notes": a.notes,
            })
        }).collect::<Vec<_>>(),
    })
}

/// The JSON document written a response at a time, byte for byte as serde_json pretty-prints the
/// whole: the head is printed with its `"responses": null`, and each response, printed alone, goes
/// into that place indented to its depth.
pub struct JsonDocument<W: Write> {
    out: W,
    /// What follows the responses.
    rest: Vec<u8>,
    first: bool,
}

/// Where the responses go in the printed head: a key of the top-level object.
const RESPONSES_AT: &[u8] = b"\n  \"responses\": null";

impl<W: Write> JsonDocument<W> {
    pub fn start(mut out: W, head: &Value) -> io::Result<Self> {
        let printed = serde_json::to_vec_pretty(head)?;
        let at = printed
            .windows(RESPONSES_AT.len())
            .position(|w| w == RESPONSES_AT)
            .expect("the head has its responses key");
        let key = RESPONSES_AT.len() - b"null".len();
        out.write_all(&printed[..at + key])?;
        out.write_all(b"[")?;
        Ok(JsonDocument {
            out,
            rest: printed[at + RESPONSES_AT.len()..].to_vec(),
            first: true,
        })
    }

    pub fn response(&mut self, response: &Value) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        let printed = serde_json::to_vec_pretty(response)?;
        for (i, line) in printed.split(|b| *b == b'\n').enumerate() {
            if i > 0 {
                self.out.write_all(b"\n")?;
            }
            self.out.write_all(b"    ")?;
            self.out.write_all(line)?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out
            .write_all(if self.first { b"]" } else { b"\n  ]" })?;
        self.out.write_all(&self.rest)?;
        Ok(self.out)
    }
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
    let mut csv = Csv::new(Vec::new()).expect("writing to memory");
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
    ])
    .expect("writing to memory");
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
        ])
        .expect("writing to memory");
    }
    csv.finish().expect("writing to memory")
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
            head: ExportHead {
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
            },
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

    fn wide_csv(data: &ExportData, values: Values) -> Vec<u8> {
        let with_notes = (data.responses.iter())
            .flat_map(|(_, answers)| answers)
            .filter(|a| has_notes(&a.notes))
            .map(|a| a.question_id)
            .collect();
        let wide = Wide::new(&data.head, &with_notes, values);
        let mut csv = Csv::new(Vec::new()).unwrap();
        csv.row(wide.header()).unwrap();
        for (response, answers) in &data.responses {
            csv.row(wide.row(response, answers)).unwrap();
        }
        csv.finish().unwrap()
    }

    fn long_csv(data: &ExportData, values: Values) -> Vec<u8> {
        let questions = Questions::of(&data.head.versions);
        let mut csv = Csv::new(Vec::new()).unwrap();
        csv.row(LONG_COLUMNS).unwrap();
        for (response, answers) in &data.responses {
            for row in long_rows(&questions, response, answers, values) {
                csv.row(row).unwrap();
            }
        }
        csv.finish().unwrap()
    }

    fn json_bytes(data: &ExportData, values: Values) -> Vec<u8> {
        let questions = Questions::of(&data.head.versions);
        let mut doc = JsonDocument::start(Vec::new(), &json_head(&data.head, values)).unwrap();
        for (response, answers) in &data.responses {
            doc.response(&json_response(&questions, response, answers, values))
                .unwrap();
        }
        doc.finish().unwrap()
    }

    fn json_document(data: &ExportData, values: Values) -> Value {
        serde_json::from_slice(&json_bytes(data, values)).unwrap()
    }

    #[test]
    fn the_json_written_a_response_at_a_time_is_the_whole_document_pretty_printed() {
        for responses in [0, 1, 2] {
            let mut data = data();
            data.responses.truncate(responses);
            let questions = Questions::of(&data.head.versions);
            let mut whole = json_head(&data.head, Values::Codes);
            whole["responses"] = (data.responses.iter())
                .map(|(r, a)| json_response(&questions, r, a, Values::Codes))
                .collect();
            assert_eq!(
                String::from_utf8(json_bytes(&data, Values::Codes)).unwrap(),
                serde_json::to_string_pretty(&whole).unwrap(),
                "{responses} responses"
            );
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
        let q = |v: usize, i: usize| &d.head.versions[v].questions[i];
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
