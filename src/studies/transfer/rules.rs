//! The questionnaire file format (docs/questionnaire-format.md) with no storage or HTTP: writing a
//! snapshot as a file, and checking a file with the editor's own rules before anything is stored.
//! Conditions name questions by their key in the file and tags by their code, never by database id, so a
//! file means the same on any server.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldErrors;
use crate::studies::consent::rules::{check_information, Information};
use crate::studies::questionnaires::rules::{
    check_question, check_section, EarlierQuestion, QuestionContent, QuestionInput, QuestionKind,
};
use crate::studies::versions::rules::Snapshot;

pub const FORMAT: &str = "voices.questionnaire";
pub const FORMAT_VERSION: i64 = 1;

/// A questionnaire as a file: what export writes and import reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct QuestionnaireFile {
    /// Always "voices.questionnaire".
    pub format: String,
    /// 1.
    pub format_version: i64,
    pub title: String,
    pub description: String,
    pub sections: Vec<FileSection>,
    /// The information sheet and consent statements; absent keeps a new questionnaire's defaults.
    pub information: Option<Information>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FileSection {
    pub title: String,
    pub introduction: String,
    pub questions: Vec<FileQuestion>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FileQuestion {
    /// Unique in the file; conditions name the question they depend on by it. Export writes q1, q2, ….
    pub key: String,
    /// long_text, short_text, single_choice, multiple_choice, likert, scale_0_10, yes_no_not_sure, number, date.
    pub kind: String,
    pub text: String,
    pub help_text: String,
    pub required: bool,
    /// Who is asked: any of "staff", "service_users", "carers".
    pub audiences: Vec<String>,
    pub wording_staff: String,
    pub wording_service_user: String,
    pub wording_carer: String,
    pub wording_easy_read: String,
    pub options: Vec<String>,
    pub likert_not_applicable: bool,
    pub probes: Vec<String>,
    /// "micro", "meso", "macro" or null.
    pub system_level: Option<String>,
    pub provenance: String,
    pub show_if: Option<FileCondition>,
    /// Taxonomy codes, e.g. "C-PSY", "TDF-KNO".
    pub tags: Vec<String>,
}

/// Show the question only when the earlier question `question` (a key) was answered with one of `answers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct FileCondition {
    pub question: String,
    pub answers: Vec<String>,
}

const AUDIENCES: [&str; 3] = ["staff", "service_users", "carers"];

/// The snapshot as a file. Keys follow reading order, so exporting the same content gives the same file.
pub fn export(snapshot: &Snapshot) -> QuestionnaireFile {
    let keys: HashMap<i64, String> = snapshot
        .sections
        .iter()
        .flat_map(|s| &s.questions)
        .enumerate()
        .map(|(i, q)| (q.id, format!("q{}", i + 1)))
        .collect();
    QuestionnaireFile {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        title: snapshot.title.clone(),
        description: snapshot.description.clone(),
        sections: snapshot
            .sections
            .iter()
            .map(|s| FileSection {
                title: s.title.clone(),
                introduction: s.introduction.clone(),
                questions: s
                    .questions
                    .iter()
                    .map(|q| FileQuestion {
                        key: keys[&q.id].clone(),
                        kind: q.kind.clone(),
                        text: q.text.clone(),
                        help_text: q.help_text.clone(),
                        required: q.required,
                        audiences: AUDIENCES
                            .iter()
                            .zip([q.for_staff, q.for_service_users, q.for_carers])
                            .filter(|(_, asked)| *asked)
                            .map(|(name, _)| name.to_string())
                            .collect(),
                        wording_staff: q.wording_staff.clone(),
                        wording_service_user: q.wording_service_user.clone(),
                        wording_carer: q.wording_carer.clone(),
                        wording_easy_read: q.wording_easy_read.clone(),
                        options: q.options.clone(),
                        likert_not_applicable: q.likert_not_applicable,
                        probes: q.probes.clone(),
                        system_level: q.system_level.clone(),
                        provenance: q.provenance.clone(),
                        show_if: q.show_if_question_id.map(|target| FileCondition {
                            question: keys.get(&target).cloned().unwrap_or_default(),
                            answers: q.show_if_answers.clone(),
                        }),
                        tags: q.tags.clone(),
                    })
                    .collect(),
            })
            .collect(),
        information: Some(snapshot.information.clone()),
    }
}

/// Reads a file's text; a problem with the JSON itself is reported at the root, `$`, with its line and column.
pub fn parse(text: &str) -> Result<QuestionnaireFile, FieldErrors> {
    serde_json::from_str(text).map_err(|e| {
        FieldErrors::from([(
            "$".to_string(),
            format!("This is not a questionnaire file in JSON: {e}"),
        )])
    })
}

/// A file that passed every rule, ready to store in reading order.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportPlan {
    pub title: String,
    pub description: String,
    pub sections: Vec<PlannedSection>,
    pub information: Option<Information>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlannedSection {
    pub title: String,
    pub introduction: String,
    /// Each question's `show_if_question_id`, if any, is the reading-order index (from 0) of the question
    /// it depends on: the importer swaps it for that question's new id.
    pub questions: Vec<QuestionContent>,
}

/// Every problem, each at its JSON path (e.g. `sections[1].questions[3].options`, counting from 0).
struct Problems(FieldErrors);

impl Problems {
    fn add(&mut self, path: String, message: impl Into<String>) {
        self.0.entry(path).or_insert_with(|| message.into());
    }
}

/// The editor's field name as the file's.
fn file_field(field: &str) -> &str {
    match field {
        "show_if_question_id" => "show_if.question",
        "show_if_answers" => "show_if.answers",
        other => other,
    }
}

/// Checks the whole file with the editor's rules; `tag_ids` maps taxonomy codes to ids.
pub fn check_file(
    file: &QuestionnaireFile,
    tag_ids: &HashMap<String, i64>,
) -> Result<ImportPlan, FieldErrors> {
    let mut problems = Problems(FieldErrors::new());
    if file.format != FORMAT {
        problems.add(
            "format".into(),
            format!("This is not a Voices questionnaire file: \"format\" must be \"{FORMAT}\""),
        );
    }
    if file.format_version != FORMAT_VERSION {
        problems.add(
            "format_version".into(),
            format!(
                "This file is format version {}; Voices reads version {FORMAT_VERSION}",
                file.format_version
            ),
        );
    }
    if let Err(errors) = check_section(&file.title, &file.description) {
        for (field, message) in errors {
            let (path, message) = match field.as_str() {
                "introduction" => (
                    "description",
                    message.replace("introduction", "description"),
                ),
                _ => ("title", message.replace("the section", "the questionnaire")),
            };
            problems.add(path.into(), message);
        }
    }

    // Every key first, so a condition naming a later question is told it must point back.
    let mut index_of: HashMap<&str, i64> = HashMap::new();
    let questions = file.sections.iter().enumerate().flat_map(|(s, section)| {
        section
            .questions
            .iter()
            .enumerate()
            .map(move |(q, question)| (s, q, question))
    });
    for (index, (s, q, question)) in questions.enumerate() {
        let key = question.key.trim();
        if !key.is_empty() && index_of.insert(key, index as i64).is_some() {
            problems.add(
                format!("sections[{s}].questions[{q}].key"),
                format!("Another question already has the key “{key}”: keys must be unique"),
            );
        }
    }

    let mut earlier: Vec<EarlierQuestion> = Vec::new();
    let mut sections = Vec::new();
    for (s, section) in file.sections.iter().enumerate() {
        let at = format!("sections[{s}]");
        if let Err(errors) = check_section(&section.title, &section.introduction) {
            for (field, message) in errors {
                problems.add(format!("{at}.{field}"), message);
            }
        }
        let mut questions = Vec::new();
        for (q, question) in section.questions.iter().enumerate() {
            let at = format!("{at}.questions[{q}]");
            let input = question_input(question, tag_ids, &index_of, &at, &mut problems);
            match check_question(&input, &earlier, &tag_ids.values().copied().collect()) {
                Ok(content) => questions.push(content),
                Err(errors) => {
                    for (field, message) in errors {
                        problems.add(format!("{at}.{}", file_field(&field)), message);
                    }
                }
            }
            earlier.push(EarlierQuestion {
                id: earlier.len() as i64,
                kind: QuestionKind::parse(&question.kind).unwrap_or(QuestionKind::LongText),
                options: question
                    .options
                    .iter()
                    .map(|o| o.trim().to_string())
                    .filter(|o| !o.is_empty())
                    .collect(),
            });
        }
        sections.push(PlannedSection {
            title: section.title.trim().to_string(),
            introduction: section.introduction.trim().to_string(),
            questions,
        });
    }

    let information = match &file.information {
        None => None,
        Some(info) => match check_information(info) {
            Ok(info) => Some(info),
            Err(errors) => {
                for (field, message) in errors {
                    let path = match field
                        .strip_prefix("statement_")
                        .and_then(|n| n.parse::<usize>().ok())
                    {
                        Some(n) => format!("information.consent_statements[{}]", n - 1),
                        None => format!("information.{field}"),
                    };
                    problems.add(path, message);
                }
                None
            }
        },
    };

    if problems.0.is_empty() {
        Ok(ImportPlan {
            title: file.title.trim().to_string(),
            description: file.description.trim().to_string(),
            sections,
            information,
        })
    } else {
        Err(problems.0)
    }
}

/// The file's question as the editor's input, reporting what only the file can get wrong (audience
/// names, tag codes, condition keys).
fn question_input(
    question: &FileQuestion,
    tag_ids: &HashMap<String, i64>,
    index_of: &HashMap<&str, i64>,
    at: &str,
    problems: &mut Problems,
) -> QuestionInput {
    for audience in &question.audiences {
        if !AUDIENCES.contains(&audience.as_str()) {
            problems.add(
                format!("{at}.audiences"),
                format!("Unknown audience “{audience}”: use staff, service_users or carers"),
            );
        }
    }
    let asked = |name: &str| question.audiences.iter().any(|a| a == name);
    let mut tags = Vec::new();
    for code in &question.tags {
        match tag_ids.get(code.trim()) {
            Some(id) => tags.push(*id),
            None => problems.add(
                format!("{at}.tags"),
                format!("Unknown tag “{code}”: use taxonomy codes such as C-PSY or TDF-KNO"),
            ),
        }
    }
    let show_if_question_id = question.show_if.as_ref().and_then(|condition| {
        let found = index_of.get(condition.question.trim()).copied();
        if found.is_none() {
            problems.add(
                format!("{at}.show_if.question"),
                format!("No question has the key “{}”", condition.question),
            );
        }
        found
    });
    QuestionInput {
        kind: question.kind.clone(),
        text: question.text.clone(),
        help_text: question.help_text.clone(),
        required: question.required,
        for_staff: asked("staff"),
        for_service_users: asked("service_users"),
        for_carers: asked("carers"),
        wording_staff: question.wording_staff.clone(),
        wording_service_user: question.wording_service_user.clone(),
        wording_carer: question.wording_carer.clone(),
        wording_easy_read: question.wording_easy_read.clone(),
        options: question.options.clone(),
        likert_not_applicable: question.likert_not_applicable,
        probes: question.probes.clone(),
        system_level: question.system_level.clone().unwrap_or_default(),
        provenance: question.provenance.clone(),
        show_if_question_id,
        show_if_answers: question
            .show_if
            .as_ref()
            .map(|c| c.answers.clone())
            .unwrap_or_default(),
        tags,
        lock_version: None,
        reason: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags() -> HashMap<String, i64> {
        HashMap::from([("C-PSY".to_string(), 2), ("TDF-KNO".to_string(), 9)])
    }

    fn question(key: &str) -> FileQuestion {
        FileQuestion {
            key: key.into(),
            kind: "long_text".into(),
            text: "What helps?".into(),
            audiences: vec!["staff".into()],
            ..FileQuestion::default()
        }
    }

    fn file(questions: Vec<FileQuestion>) -> QuestionnaireFile {
        QuestionnaireFile {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            title: "Guide".into(),
            sections: vec![FileSection {
                title: "About you".into(),
                questions,
                ..FileSection::default()
            }],
            ..QuestionnaireFile::default()
        }
    }

    #[test]
    fn a_good_file_becomes_a_plan_with_conditions_by_reading_order() {
        let mut choice = question("took-part");
        choice.kind = "yes_no_not_sure".into();
        let mut follow_up = question("how");
        follow_up.show_if = Some(FileCondition {
            question: "took-part".into(),
            answers: vec!["Yes".into()],
        });
        follow_up.tags = vec!["TDF-KNO".into(), "C-PSY".into()];
        let plan = check_file(&file(vec![choice, follow_up]), &tags()).unwrap();
        let planned = &plan.sections[0].questions[1];
        assert_eq!(planned.input.show_if_question_id, Some(0));
        assert_eq!(planned.input.tags, vec![2, 9]);
        assert!(plan.information.is_none());
    }

    #[test]
    fn every_problem_is_reported_at_its_path() {
        let mut likert = question("scale");
        likert.kind = "likert".into();
        likert.options = vec!["a".into(), "b".into()];
        let mut bad = question("scale");
        bad.audiences = vec!["visitors".into()];
        bad.tags = vec!["X-NOPE".into()];
        bad.show_if = Some(FileCondition {
            question: "nowhere".into(),
            answers: vec![],
        });
        let mut forward = question("forward");
        forward.show_if = Some(FileCondition {
            question: "later".into(),
            answers: vec!["Yes".into()],
        });
        let mut later = question("later");
        later.kind = "yes_no_not_sure".into();
        let mut f = file(vec![likert, bad, forward, later]);
        f.format = "something.else".into();
        f.sections.push(FileSection::default());
        f.information = Some(Information::default());
        let errors = check_file(&f, &tags()).unwrap_err();
        let q = "sections[0].questions";
        assert!(errors[&format!("{q}[0].options")].contains("5 or 7"));
        assert!(errors[&format!("{q}[1].key")].contains("unique"));
        assert!(errors[&format!("{q}[1].audiences")].contains("visitors"));
        assert!(errors[&format!("{q}[1].tags")].contains("X-NOPE"));
        assert!(errors[&format!("{q}[1].show_if.question")].contains("nowhere"));
        assert!(errors[&format!("{q}[2].show_if.question")].contains("earlier"));
        assert!(errors["sections[1].title"].contains("title"));
        assert!(errors["format"].contains(FORMAT));
        assert!(errors["information.consent_statements"].contains("required"));
    }

    #[test]
    fn the_documented_example_imports() {
        let doc = include_str!("../../../docs/questionnaire-format.md");
        let example = doc
            .split("```json")
            .nth(1)
            .unwrap()
            .split("```")
            .next()
            .unwrap();
        let mut known = tags();
        known.extend([("O-SOC".to_string(), 4), ("TDF-SOC".to_string(), 18)]);
        let plan = check_file(&parse(example).unwrap(), &known).unwrap();
        assert_eq!(
            plan.sections[0].questions[1].input.show_if_question_id,
            Some(0)
        );
        assert!(plan.information.is_some());
    }

    #[test]
    fn json_problems_are_reported_at_the_root() {
        let errors = parse("{\"format\": 1,").unwrap_err();
        assert!(errors["$"].contains("line 1"), "{errors:?}");
    }
}
