//! What a memo is: a subject (the study, a code, a coded passage or a response) and a body of 1 to
//! 10,000 characters. No storage here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::distribution::participants::rules::{choices, simplify, vocabulary, Choice};
use crate::error::FieldErrors;

vocabulary!(
    /// What a memo is about.
    Subject {
        Study => "study", "The study";
        Code => "code", "A code";
        Coding => "coding", "A coded passage";
        Response => "response", "A participant";
    }
);

/// The longest memo, in characters.
pub const BODY_LIMIT: usize = 10_000;

/// A new memo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewMemo {
    /// study, code, coding or response.
    pub subject: String,
    /// The code's, coding's or response's id; absent for the study.
    pub subject_id: Option<i64>,
    /// 1 to 10,000 characters.
    pub body: String,
}

/// A memo's new wording.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(default)]
pub struct MemoChange {
    pub body: String,
}

/// The body as kept: trimmed, not empty, not too long.
pub fn check_body(body: &str) -> Result<String, String> {
    let body = body.trim();
    if body.is_empty() {
        return Err("Write the memo".into());
    }
    let length = body.chars().count();
    if length > BODY_LIMIT {
        return Err(format!(
            "Keep the memo to 10,000 characters or fewer: it has {length}"
        ));
    }
    Ok(body.to_string())
}

/// The subject named: the study needs no id (any given is ignored), anything else needs one.
pub fn check_subject(subject: &str, id: Option<i64>) -> Result<(Subject, Option<i64>), String> {
    match Subject::parse(if subject.trim().is_empty() {
        "study"
    } else {
        subject
    }) {
        Some(Subject::Study) => Ok((Subject::Study, None)),
        Some(subject) => id
            .map(|id| (subject, Some(id)))
            .ok_or_else(|| format!("Say which {} the memo is about", noun(subject))),
        None => Err(format!(
            "Choose what the memo is about: {}",
            Subject::choices()
        )),
    }
}

/// A new memo checked: subject and body, errors keyed by field name.
pub fn check(memo: &NewMemo) -> Result<(Subject, Option<i64>, String), FieldErrors> {
    let mut errors = FieldErrors::new();
    let subject = check_subject(&memo.subject, memo.subject_id)
        .map_err(|message| {
            let field = if Subject::parse(&memo.subject).is_some() {
                "subject_id"
            } else {
                "subject"
            };
            errors.insert(field.into(), message);
        })
        .ok();
    let body = check_body(&memo.body)
        .map_err(|message| errors.insert("body".into(), message))
        .ok();
    match (subject, body) {
        (Some((subject, id)), Some(body)) if errors.is_empty() => Ok((subject, id, body)),
        _ => Err(errors),
    }
}

/// What the subject is called in a sentence.
pub fn noun(subject: Subject) -> &'static str {
    match subject {
        Subject::Study => "study",
        Subject::Code => "code",
        Subject::Coding => "coded passage",
        Subject::Response => "participant",
    }
}

/// Who may change or remove a memo: its author, or a lead.
pub fn may_change(author_id: i64, user_id: i64, is_lead: bool) -> bool {
    author_id == user_id || is_lead
}

/// The key a page looks a count up by: `code-5`, `coding-12`, `response-3`.
pub fn count_key(subject: &str, id: i64) -> String {
    format!("{subject}-{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_trimmed_and_bounded_in_characters() {
        assert_eq!(check_body("  Travel again \n").unwrap(), "Travel again");
        assert!(check_body(" \n ").unwrap_err().contains("Write the memo"));
        let most = "é".repeat(BODY_LIMIT);
        assert_eq!(check_body(&most).unwrap().chars().count(), BODY_LIMIT);
        let over = check_body(&format!("{most}€")).unwrap_err();
        assert!(over.contains("10001"), "{over}");
    }

    #[test]
    fn subjects_other_than_the_study_need_an_id() {
        assert_eq!(check_subject("study", Some(4)), Ok((Subject::Study, None)));
        assert_eq!(check_subject("", None), Ok((Subject::Study, None)));
        assert_eq!(check_subject("code", Some(5)), Ok((Subject::Code, Some(5))));
        assert!(check_subject("coding", None)
            .unwrap_err()
            .contains("which coded passage"));
        assert!(check_subject("diary", Some(1))
            .unwrap_err()
            .contains("Choose what"));
    }

    #[test]
    fn errors_are_named_field_by_field() {
        let errors = check(&NewMemo {
            subject: "response".into(),
            subject_id: None,
            body: String::new(),
        })
        .unwrap_err();
        let names: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(names, ["body", "subject_id"]);
        let errors = check(&NewMemo {
            subject: "diary".into(),
            subject_id: None,
            body: "x".into(),
        })
        .unwrap_err();
        assert!(errors.contains_key("subject"));
    }

    #[test]
    fn authors_and_leads_change_memos() {
        assert!(may_change(3, 3, false));
        assert!(may_change(3, 4, true));
        assert!(!may_change(3, 4, false));
    }
}
