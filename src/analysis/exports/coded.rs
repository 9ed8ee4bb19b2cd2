//! The study's coding as files: a REFI-QDA project (one document per participant, their answers
//! and interview notes under the questions, with every coded passage) and the coded passages as
//! CSV, a page of documents or passages at a time. Pure: the caller loads the rows.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;

use super::refi::{self, Case, Note, NoteOn, ProjectHead, Selection, TextSource, User, Variable};
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

/// Coders as the files name them: "Coder 1", "Coder 2", … in order of their first coding, given the
/// coders of the study's codings in the codings' order.
pub fn coder_names(coders: impl IntoIterator<Item = i64>) -> Vec<(i64, String)> {
    let mut first: Vec<i64> = Vec::new();
    for coder in coders {
        if !first.contains(&coder) {
            first.push(coder);
        }
    }
    first
        .into_iter()
        .enumerate()
        .map(|(i, id)| (id, format!("Coder {}", i + 1)))
        .collect()
}

/// What the project holds besides its documents.
pub struct ProjectParts<'a> {
    pub study_id: i64,
    pub name: &'a str,
    pub created_at: NaiveDateTime,
    pub codes: Vec<refi::Code>,
    pub codebook: &'a Codebook,
    /// From [`coder_names`].
    pub coders: &'a [(i64, String)],
    pub memos: &'a [Memo],
}

/// The participants' attributes that cases carry.
fn variables(study: i64) -> Vec<Variable> {
    ["Group", "Service", "Level"]
        .iter()
        .map(|name| Variable {
            guid: refi::guid(study, "variable", name),
            name: name.to_string(),
        })
        .collect()
}

fn source_guid(study: i64, response: i64) -> String {
    refi::guid(study, "response", response)
}

/// The REFI-QDA project's head: the codebook, the coders, the variables and the memos as notes.
/// Then come a case and a source per document ([`case`], [`text_source`], [`selections`]).
pub fn project_head(parts: ProjectParts) -> ProjectHead {
    let study = parts.study_id;
    ProjectHead {
        name: parts.name.to_string(),
        created_at: parts.created_at,
        users: parts
            .coders
            .iter()
            .map(|(id, name)| User {
                guid: refi::guid(study, "coder", id),
                name: name.clone(),
            })
            .collect(),
        notes: notes(&parts),
        codes: parts.codes,
        variables: variables(study),
    }
}

/// A participant's case: group, service and level, and their document.
pub fn case(study: i64, document: &Document) -> Case {
    Case {
        guid: refi::guid(study, "case", document.response_id),
        name: document.participant.clone(),
        values: variables(study)
            .iter()
            .zip([&document.group, &document.service, &document.level])
            .map(|(v, value)| (v.guid.clone(), value.clone()))
            .collect(),
        sources: vec![source_guid(study, document.response_id)],
    }
}

pub fn text_source(study: i64, document: &Document, created_at: NaiveDateTime) -> TextSource {
    TextSource {
        guid: source_guid(study, document.response_id),
        name: document.participant.clone(),
        text: document.text.clone(),
        description: String::new(),
        created_at,
    }
}

/// Each coded passage of the documents as a selection at its place in its document, in the order of
/// `codings`; passages in texts the documents do not hold, or under codes no longer live, are left out.
pub fn selections(
    study: i64,
    documents: &[Document],
    codebook: &Codebook,
    codings: &[Coding],
) -> Vec<Selection> {
    let place: HashMap<(i64, Field), (i64, usize)> = documents
        .iter()
        .flat_map(|d| {
            d.starts
                .iter()
                .map(|(k, &start)| (*k, (d.response_id, start)))
        })
        .collect();
    codings
        .iter()
        .filter_map(|c| {
            let field = Field::parse(&c.field)?;
            let &(response, start) = place.get(&(c.answer_id, field))?;
            let code = live_code(codebook, c.code_id)?;
            Some(Selection {
                guid: refi::guid(study, "coding", c.id),
                source: source_guid(study, response),
                start: start + c.start_char as usize,
                end: start + c.end_char as usize,
                code: refi::guid(study, "code", code.id),
                coder: Some(refi::guid(study, "coder", c.coder_id)),
                created_at: c.created_at,
                description: format!("Valence: {}", c.valence),
            })
        })
        .collect()
}

/// Memos as the project's notes, each on what it is about (a note on a passage or a response the
/// project does not hold is left out as the project is written); authors are not named.
fn notes(parts: &ProjectParts) -> Vec<Note> {
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
                ("coding", Some(id)) => NoteOn::Selection(refi::guid(study, "coding", id)),
                ("response", Some(id)) => NoteOn::Source(source_guid(study, id)),
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

pub const PASSAGE_COLUMNS: [&str; 16] = [
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
];

/// The coded passages CSV's rows: one per coded passage, pseudonymised, with the code, its COM-B
/// part and the valence.
pub struct Passages<'a> {
    questions: &'a HashMap<i64, &'a QuestionInfo>,
    codebook: &'a Codebook,
    combs: HashMap<i64, String>,
    coders: HashMap<i64, String>,
}

impl<'a> Passages<'a> {
    pub fn new(
        questions: &'a HashMap<i64, &'a QuestionInfo>,
        codebook: &'a Codebook,
        coders: &[(i64, String)],
    ) -> Self {
        Passages {
            questions,
            codebook,
            combs: comb_of_codes(codebook),
            coders: coders.iter().cloned().collect(),
        }
    }

    /// The rows of `codings`, in their order, whose texts are among `rows`.
    pub fn rows(&self, rows: &[SourceRow], codings: &[Coding]) -> Vec<[String; 16]> {
        let row_of: HashMap<i64, &SourceRow> = rows.iter().map(|r| (r.answer_id, r)).collect();
        let comb_label = |code: &str| {
            self.codebook
                .taxonomy
                .iter()
                .find(|t| t.code == code)
                .map_or_else(String::new, |t| t.label.clone())
        };
        let mut out = Vec::new();
        for c in codings {
            let (Some(row), Some(code)) = (
                row_of.get(&c.answer_id),
                live_code(self.codebook, c.code_id),
            ) else {
                continue;
            };
            let question = self.questions.get(&row.question_id);
            out.push([
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
                comb_label(self.combs.get(&code.id).map_or("", String::as_str)),
                c.valence.clone(),
                self.coders.get(&c.coder_id).cloned().unwrap_or_default(),
            ]);
        }
        out
    }
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
