//! The study's coding as files: a REFI-QDA project (one document per participant, their answers
//! and interview notes under the questions, with every coded passage) and the coded passages as
//! CSV. Pure: the caller loads the rows.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;

use super::refi::{self, Case, Note, NoteOn, Project, Selection, TextSource, User, Variable};
use super::rules::Csv;
use crate::analysis::codebook::actions::{comb_of_codes, live_code, Codebook};
use crate::analysis::coding::actions::{codable_texts, QuestionInfo};
use crate::analysis::coding::queries::{Coding, SourceRow};
use crate::analysis::coding::rules::{pseudonym, Field};
use crate::analysis::memos::queries::Memo;

/// One participant's document: their texts in question order, each under its question, and where
/// each text starts (in characters) so coded offsets can be moved into the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub response_id: i64,
    pub participant: String,
    pub group: String,
    pub service: String,
    pub level: String,
    pub text: String,
    /// (answer id, field) → the first character of that text in the document.
    pub starts: HashMap<(i64, Field), usize>,
}

/// Builds one document per response from its sources (given in response, then question order).
pub fn documents(rows: &[SourceRow], questions: &HashMap<i64, &QuestionInfo>) -> Vec<Document> {
    let mut by_response: BTreeMap<i64, Vec<&SourceRow>> = BTreeMap::new();
    for row in rows {
        by_response.entry(row.response_id).or_default().push(row);
    }
    by_response
        .into_values()
        .filter_map(|mut rows| {
            rows.sort_by_key(|r| {
                questions
                    .get(&r.question_id)
                    .map_or(usize::MAX, |q| q.number)
            });
            let first = *rows.first()?;
            let mut text = String::new();
            let mut length = 0;
            let mut starts = HashMap::new();
            for row in &rows {
                let question = questions.get(&row.question_id).copied();
                for (field, body) in codable_texts(row, question) {
                    let heading = match (question, field) {
                        (Some(q), Field::Answer) => format!("{}. {}\n", q.number, q.text),
                        (Some(q), Field::Notes) => {
                            format!("{}. {} (interview notes)\n", q.number, q.text)
                        }
                        (None, _) => format!("Question {}\n", row.question_id),
                    };
                    length += heading.chars().count();
                    text.push_str(&heading);
                    starts.insert((row.answer_id, field), length);
                    text.push_str(body);
                    text.push_str("\n\n");
                    length += body.chars().count() + 2;
                }
            }
            (!starts.is_empty()).then(|| Document {
                response_id: first.response_id,
                participant: pseudonym(first.participant_code.as_deref(), first.response_id),
                group: first.group.clone(),
                service: first.service.clone(),
                level: first.level.clone(),
                text,
                starts,
            })
        })
        .collect()
}

/// Coders as the files name them: "Coder 1", "Coder 2", … in order of their first coding.
pub fn coder_names(codings: &[Coding]) -> Vec<(i64, String)> {
    let mut coders: Vec<i64> = Vec::new();
    for coding in codings {
        if !coders.contains(&coding.coder_id) {
            coders.push(coding.coder_id);
        }
    }
    coders
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, format!("Coder {}", i + 1)))
        .collect()
}

pub struct ProjectParts<'a> {
    pub study_id: i64,
    pub name: &'a str,
    pub created_at: NaiveDateTime,
    pub codes: Vec<refi::Code>,
    pub codebook: &'a Codebook,
    pub documents: &'a [Document],
    pub codings: &'a [Coding],
    pub memos: &'a [Memo],
}

/// The REFI-QDA project: the codebook, a document and a case per participant (group, service and
/// level as variables), and each coded passage as a selection at its place in the document.
pub fn project(parts: ProjectParts) -> Project {
    let study = parts.study_id;
    let coders = coder_names(parts.codings);
    let variables: Vec<Variable> = ["Group", "Service", "Level"]
        .iter()
        .map(|name| Variable {
            guid: refi::guid(study, "variable", name),
            name: name.to_string(),
        })
        .collect();
    let source_guid = |response: i64| refi::guid(study, "response", response);
    let place: HashMap<(i64, Field), (i64, usize)> = parts
        .documents
        .iter()
        .flat_map(|d| {
            d.starts
                .iter()
                .map(|(k, &start)| (*k, (d.response_id, start)))
        })
        .collect();
    let selections: Vec<Selection> = parts
        .codings
        .iter()
        .filter_map(|c| {
            let field = Field::parse(&c.field)?;
            let &(response, start) = place.get(&(c.answer_id, field))?;
            let code = live_code(parts.codebook, c.code_id)?;
            Some(Selection {
                guid: refi::guid(study, "coding", c.id),
                source: source_guid(response),
                start: start + c.start_char as usize,
                end: start + c.end_char as usize,
                code: refi::guid(study, "code", code.id),
                coder: Some(refi::guid(study, "coder", c.coder_id)),
                created_at: c.created_at,
                description: format!("Valence: {}", c.valence),
            })
        })
        .collect();
    let notes = notes(&parts, &selections);
    Project {
        name: parts.name.to_string(),
        created_at: parts.created_at,
        users: coders
            .iter()
            .map(|(id, name)| User {
                guid: refi::guid(study, "coder", id),
                name: name.clone(),
            })
            .collect(),
        codes: parts.codes,
        cases: parts
            .documents
            .iter()
            .map(|d| Case {
                guid: refi::guid(study, "case", d.response_id),
                name: d.participant.clone(),
                values: variables
                    .iter()
                    .zip([&d.group, &d.service, &d.level])
                    .map(|(v, value)| (v.guid.clone(), value.clone()))
                    .collect(),
                sources: vec![source_guid(d.response_id)],
            })
            .collect(),
        variables,
        sources: parts
            .documents
            .iter()
            .map(|d| TextSource {
                guid: source_guid(d.response_id),
                name: d.participant.clone(),
                text: d.text.clone(),
                description: String::new(),
                created_at: parts.created_at,
            })
            .collect(),
        notes,
        selections,
    }
}

/// Memos as the project's notes, each on what it is about when the project has it; authors are not
/// named.
fn notes(parts: &ProjectParts, selections: &[Selection]) -> Vec<Note> {
    let study = parts.study_id;
    parts
        .memos
        .iter()
        .filter_map(|memo| {
            let on = match (memo.subject.as_str(), memo.subject_id) {
                ("study", _) => NoteOn::Project,
                ("code", Some(id)) => {
                    NoteOn::Code(refi::guid(study, "code", live_code(parts.codebook, id)?.id))
                }
                ("coding", Some(id)) => {
                    let guid = refi::guid(study, "coding", id);
                    selections.iter().any(|s| s.guid == guid).then_some(())?;
                    NoteOn::Selection(guid)
                }
                ("response", Some(id)) => {
                    parts
                        .documents
                        .iter()
                        .any(|d| d.response_id == id)
                        .then_some(())?;
                    NoteOn::Source(refi::guid(study, "response", id))
                }
                _ => return None,
            };
            Some(Note {
                guid: refi::guid(study, "memo", memo.id),
                name: format!("Memo {}", memo.id),
                text: memo.body.clone(),
                author: None,
                created_at: memo.created_at,
                on,
            })
        })
        .collect()
}

/// One row per coded passage, pseudonymised, with the code, its COM-B part and the valence.
pub fn passages_csv(
    rows: &[SourceRow],
    questions: &HashMap<i64, &QuestionInfo>,
    codebook: &Codebook,
    codings: &[Coding],
) -> Vec<u8> {
    let row_of: HashMap<i64, &SourceRow> = rows.iter().map(|r| (r.answer_id, r)).collect();
    let coders: HashMap<i64, String> = coder_names(codings).into_iter().collect();
    let combs = comb_of_codes(codebook);
    let comb_label = |code: &str| {
        codebook
            .taxonomy
            .iter()
            .find(|t| t.code == code)
            .map_or_else(String::new, |t| t.label.clone())
    };
    let mut csv = Csv::new();
    csv.row([
        "coding_id",
        "participant_code",
        "group",
        "service",
        "level",
        "mode",
        "question_number",
        "question",
        "text",
        "start",
        "end",
        "passage",
        "code",
        "com_b",
        "valence",
        "coder",
    ]);
    for c in codings {
        let (Some(row), Some(code)) = (row_of.get(&c.answer_id), live_code(codebook, c.code_id))
        else {
            continue;
        };
        let question = questions.get(&row.question_id);
        csv.row([
            c.id.to_string(),
            pseudonym(row.participant_code.as_deref(), row.response_id),
            row.group.clone(),
            row.service.clone(),
            row.level.clone(),
            row.mode.clone(),
            question.map(|q| q.number.to_string()).unwrap_or_default(),
            question.map(|q| q.text.clone()).unwrap_or_default(),
            c.field.clone(),
            c.start_char.to_string(),
            c.end_char.to_string(),
            c.quote.clone(),
            code.name.clone(),
            comb_label(combs.get(&code.id).map_or("", String::as_str)),
            c.valence.clone(),
            coders.get(&c.coder_id).cloned().unwrap_or_default(),
        ]);
    }
    csv.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(answer: i64, response: i64, question: i64, value: &str, notes: &str) -> SourceRow {
        SourceRow {
            answer_id: answer,
            response_id: response,
            question_id: question,
            value: value.into(),
            notes: notes.into(),
            version_id: 1,
            mode: "interview".into(),
            group: "carer".into(),
            service: "Community".into(),
            level: "micro".into(),
            participant_code: Some(format!("P-{response:04}")),
        }
    }

    fn question(id: i64, number: usize, kind: &str) -> QuestionInfo {
        QuestionInfo {
            id,
            number,
            text: format!("Question about {id}"),
            kind: kind.into(),
            section: String::new(),
            tags: Vec::new(),
        }
    }

    #[test]
    fn documents_put_each_text_under_its_question_and_know_where_it_starts() {
        let (q1, q2) = (question(7, 1, "long_text"), question(9, 2, "likert"));
        let questions: HashMap<i64, &QuestionInfo> = [(7, &q1), (9, &q2)].into();
        let rows = [
            row(2, 1, 9, "Agree", "Smiled: “yes” ☺"),
            row(1, 1, 7, "Café at 9 €", ""),
        ];
        let docs = documents(&rows, &questions);
        assert_eq!(docs.len(), 1);
        let doc = &docs[0];
        assert_eq!(
            doc.text,
            "1. Question about 7\nCafé at 9 €\n\n2. Question about 9 (interview notes)\nSmiled: “yes” ☺\n\n"
        );
        let chars: Vec<char> = doc.text.chars().collect();
        let at = |answer: i64, field: Field, len: usize| -> String {
            let start = doc.starts[&(answer, field)];
            chars[start..start + len].iter().collect()
        };
        assert_eq!(at(1, Field::Answer, 11), "Café at 9 €");
        assert_eq!(at(2, Field::Notes, 15), "Smiled: “yes” ☺");
        assert!(
            !doc.starts.contains_key(&(2, Field::Answer)),
            "a Likert choice is not text"
        );
        assert_eq!(doc.participant, "P-0001");
    }
}
