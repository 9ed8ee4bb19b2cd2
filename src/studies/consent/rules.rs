//! Information and consent rules with no storage or HTTP: what a complete, well-formed information sheet
//! is. Its Markdown becomes safe HTML in `web::markdown`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldErrors;

pub const SUMMARY_MAX: usize = 2_000;
pub const FULL_TEXT_MAX: usize = 20_000;
pub const DATA_USE_MAX: usize = 10_000;
pub const SHORT_TEXT_MAX: usize = 2_000;
pub const SIGNPOSTING_MAX: usize = 4_000;
pub const STATEMENT_MAX: usize = 500;
pub const STATEMENTS_MAX: usize = 12;
pub const WITHDRAWAL_DAYS_MAX: i32 = 365;

/// One thing a participant consents to, separately from the others. Participants tick each themselves:
/// never pre-ticked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentStatement {
    pub text: String,
    /// A required statement must be agreed to take part; an optional one may be declined.
    pub required: bool,
}

/// What participants read before they consent, and the terms they consent to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Information {
    /// Markdown, up to 2,000 characters: the first layer, read by everyone.
    pub summary: String,
    /// Markdown, up to 20,000 characters: everything about the study.
    pub full_text: String,
    /// Markdown, up to 10,000 characters: how data are used, kept apart and protected.
    pub data_use: String,
    /// Participants may withdraw up to this many days after taking part (0 to 365).
    pub withdrawal_days: i32,
    /// What happens to their data if they withdraw after the cut-off; up to 2,000 characters.
    pub withdrawal_after: String,
    /// How long data are kept and what happens then; up to 2,000 characters.
    pub retention: String,
    /// Who to contact with questions or to withdraw; up to 2,000 characters.
    pub contact: String,
    /// Where to get support if taking part is upsetting; up to 4,000 characters.
    pub signposting: String,
    /// In the order participants meet them; at least one required, up to 12, each up to 500 characters.
    pub consent_statements: Vec<ConsentStatement>,
}

fn too_long(text: &str, max: usize) -> bool {
    text.chars().count() > max
}

/// The form and API field name of the statement at `index` (from 0), for errors beside it.
pub fn statement_field(index: usize) -> String {
    format!("statement_{}", index + 1)
}

/// Checks the sheet against every rule, reporting each problem beside its field; returns it tidied.
pub fn check_information(input: &Information) -> Result<Information, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut info = input.clone();
    for text in [
        &mut info.summary,
        &mut info.full_text,
        &mut info.data_use,
        &mut info.withdrawal_after,
        &mut info.retention,
        &mut info.contact,
        &mut info.signposting,
    ] {
        *text = text.trim().to_string();
    }
    for (field, text, max, what) in [
        ("summary", &info.summary, SUMMARY_MAX, "The summary"),
        (
            "full_text",
            &info.full_text,
            FULL_TEXT_MAX,
            "The full information",
        ),
        (
            "data_use",
            &info.data_use,
            DATA_USE_MAX,
            "How data are used",
        ),
        (
            "withdrawal_after",
            &info.withdrawal_after,
            SHORT_TEXT_MAX,
            "What happens after the cut-off",
        ),
        (
            "retention",
            &info.retention,
            SHORT_TEXT_MAX,
            "The data-retention statement",
        ),
        ("contact", &info.contact, SHORT_TEXT_MAX, "Contact details"),
        (
            "signposting",
            &info.signposting,
            SIGNPOSTING_MAX,
            "Where to get support",
        ),
    ] {
        if too_long(text, max) {
            errors.insert(
                field.into(),
                format!("{what} can be up to {max} characters"),
            );
        }
    }
    if !(0..=WITHDRAWAL_DAYS_MAX).contains(&info.withdrawal_days) {
        errors.insert(
            "withdrawal_days".into(),
            format!("Enter the number of days as a whole number from 0 to {WITHDRAWAL_DAYS_MAX}"),
        );
    }
    // Errors name the row as written, before blank rows are dropped, so they show beside the right one.
    for (index, statement) in info.consent_statements.iter().enumerate() {
        if too_long(statement.text.trim(), STATEMENT_MAX) {
            errors.insert(
                statement_field(index),
                format!("Each consent statement can be up to {STATEMENT_MAX} characters"),
            );
        }
    }
    info.consent_statements = info
        .consent_statements
        .iter()
        .map(|s| ConsentStatement {
            text: s.text.trim().to_string(),
            required: s.required,
        })
        .filter(|s| !s.text.is_empty())
        .collect();
    if info.consent_statements.len() > STATEMENTS_MAX {
        errors.insert(
            "consent_statements".into(),
            format!("There can be up to {STATEMENTS_MAX} consent statements"),
        );
    } else if !info.consent_statements.iter().any(|s| s.required) {
        errors.insert(
            "consent_statements".into(),
            "At least one consent statement must be required, such as agreeing to take part".into(),
        );
    }
    if errors.is_empty() {
        Ok(info)
    } else {
        Err(errors)
    }
}

/// What a participant must be able to read before a version can be sent out; empty when nothing is missing.
pub fn missing_for_publication(info: &Information) -> Vec<&'static str> {
    [
        (info.summary.is_empty(), "the short summary"),
        (info.contact.is_empty(), "contact details"),
        (info.signposting.is_empty(), "where to get support"),
    ]
    .into_iter()
    .filter_map(|(missing, what)| missing.then_some(what))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet() -> Information {
        Information {
            summary: "We are asking about involvement.".into(),
            withdrawal_days: 14,
            consent_statements: vec![ConsentStatement {
                text: "I want to take part".into(),
                required: true,
            }],
            ..Information::default()
        }
    }

    #[test]
    fn a_sheet_is_tidied_and_blank_statements_dropped() {
        let mut input = sheet();
        input.summary = "  Hello \n".into();
        input.consent_statements.push(ConsentStatement {
            text: "   ".into(),
            required: false,
        });
        let info = check_information(&input).unwrap();
        assert_eq!(info.summary, "Hello");
        assert_eq!(info.consent_statements.len(), 1);
    }

    #[test]
    fn consent_needs_a_required_statement_and_limits_lengths() {
        let mut input = sheet();
        input.consent_statements[0].required = false;
        assert!(check_information(&input).unwrap_err()["consent_statements"].contains("required"));
        let mut input = sheet();
        input.consent_statements.push(ConsentStatement {
            text: "x".repeat(STATEMENT_MAX + 1),
            required: false,
        });
        input.withdrawal_days = 400;
        input.summary = "y".repeat(SUMMARY_MAX + 1);
        let errors = check_information(&input).unwrap_err();
        assert!(errors["statement_2"].contains("500"));
        assert!(errors["withdrawal_days"].contains("0 to 365"));
        assert!(errors["summary"].contains("2000"));
        let mut input = sheet();
        input.consent_statements = vec![input.consent_statements[0].clone(); STATEMENTS_MAX + 1];
        assert!(check_information(&input).unwrap_err()["consent_statements"].contains("12"));
    }

    #[test]
    fn publication_needs_summary_contact_and_signposting() {
        assert_eq!(
            missing_for_publication(&sheet()),
            vec!["contact details", "where to get support"]
        );
    }
}
