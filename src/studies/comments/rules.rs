//! Comment rules with no storage or HTTP: what a comment may say and who may close a thread.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldErrors;
use crate::studies::rules::Roles;

pub const BODY_MAX: usize = 4000;

/// What a thread is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
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

    /// The path segment of its pages: /studies/{id}/questions/{qn}, /studies/{id}/sections/{s}.
    pub fn plural(self) -> &'static str {
        match self {
            ObjectType::Question => "questions",
            ObjectType::Section => "sections",
        }
    }
}

/// The comment as it will be stored, or the message to show beside the `body` field. Line breaks are
/// kept (browsers send CRLF; one kind is stored) and the edges trimmed.
pub fn check_body(body: &str) -> Result<String, FieldErrors> {
    let body = body.replace("\r\n", "\n");
    let body = body.trim();
    let message = if body.is_empty() {
        "Enter your comment".to_string()
    } else {
        let length = body.chars().count();
        if length <= BODY_MAX {
            return Ok(body.to_string());
        }
        format!("Your comment must be {BODY_MAX} characters or fewer. It has {length} characters.")
    };
    Err(FieldErrors::from([("body".to_string(), message)]))
}

/// Whoever opened a thread may close it; so may the people who shape the questionnaire.
pub fn may_resolve(roles: &Roles, user_id: i64, thread_author_id: i64) -> bool {
    user_id == thread_author_id || roles.can_edit_questionnaires()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_keep_their_lines_within_the_limit() {
        assert_eq!(check_body("  one\r\ntwo \n").unwrap(), "one\ntwo");
        assert_eq!(
            check_body(" \r\n ").unwrap_err()["body"],
            "Enter your comment"
        );
        assert!(
            check_body(&"é".repeat(BODY_MAX)).is_ok(),
            "characters, not bytes"
        );
        assert!(check_body(&"x".repeat(BODY_MAX + 1)).unwrap_err()["body"]
            .contains("4000 characters or fewer"));
    }

    #[test]
    fn authors_and_the_co_design_group_resolve() {
        let analyst = Roles {
            analyst: true,
            ..Roles::default()
        };
        let designer = Roles {
            co_designer: true,
            ..Roles::default()
        };
        assert!(may_resolve(&analyst, 7, 7));
        assert!(!may_resolve(&analyst, 7, 8));
        assert!(may_resolve(&designer, 7, 8));
        assert_eq!(ObjectType::parse("section"), Some(ObjectType::Section));
        assert_eq!(ObjectType::parse("answer"), None);
    }
}
