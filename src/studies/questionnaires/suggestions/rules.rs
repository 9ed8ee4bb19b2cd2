//! Suggestion rules with no storage or HTTP: a suggestion's states, who decides, what history says.

use crate::error::FieldErrors;
use crate::studies::questionnaires::history::rules::REASON_MAX;
use crate::studies::rules::Roles;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Accepted,
    Rejected,
    Withdrawn,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::Withdrawn => "withdrawn",
        }
    }
}

/// A lead decides on any suggestion; otherwise only the person who wrote the question or section, and
/// only while they still edit questionnaires (accepting is an edit).
pub fn may_decide(roles: &Roles, is_object_author: bool) -> bool {
    roles.lead || (is_object_author && roles.can_edit_questionnaires())
}

/// The decision note: optional, up to 1,000 characters.
pub fn note_error(note: &str) -> Option<String> {
    (note.trim().chars().count() > REASON_MAX)
        .then(|| "The note can be up to 1,000 characters".to_string())
}

/// The "why we changed it" of the revision an accepted suggestion makes: it credits the suggester and
/// keeps their reason and the decider's note, cut to what a revision note may hold.
pub fn accepted_reason(suggester: &str, reason: &str, note: &str) -> String {
    let mut text = format!("From a suggestion by {suggester}");
    if !reason.trim().is_empty() {
        text.push_str(&format!(": {}", reason.trim()));
    }
    if !note.trim().is_empty() {
        text.push_str(&format!(" (accepted with the note: {})", note.trim()));
    }
    if text.chars().count() > REASON_MAX {
        text = text.chars().take(REASON_MAX - 1).collect();
        text.push('…');
    }
    text
}

/// Accepting re-checks the proposal against the questionnaire as it is now. Only the note has a field on
/// the page, so any other problem is said in one message about the suggestion.
pub fn acceptance_errors(mut errors: FieldErrors) -> FieldErrors {
    let note = errors.remove("note");
    let mut shown = FieldErrors::new();
    if !errors.is_empty() {
        let problems: Vec<String> = errors
            .into_values()
            .map(|p| format!("{}.", p.trim_end_matches('.')))
            .collect();
        shown.insert(
            "suggestion".into(),
            format!(
                "This suggestion cannot be accepted as it is now: {} Suggest or make a new change instead.",
                problems.join(" ")
            ),
        );
    }
    if let Some(note) = note {
        shown.insert("note".into(), note);
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leads_decide_and_authors_decide_while_they_edit() {
        let lead = Roles {
            lead: true,
            ..Roles::default()
        };
        let co_designer = Roles {
            co_designer: true,
            ..Roles::default()
        };
        let analyst = Roles {
            analyst: true,
            ..Roles::default()
        };
        assert!(may_decide(&lead, false));
        assert!(may_decide(&co_designer, true));
        assert!(!may_decide(&co_designer, false));
        assert!(!may_decide(&analyst, true));
    }

    #[test]
    fn the_revision_credits_the_suggester_and_fits_a_revision_note() {
        assert_eq!(
            accepted_reason("Alex", " Plainer ", ""),
            "From a suggestion by Alex: Plainer"
        );
        assert_eq!(
            accepted_reason("Alex", "", "Thanks"),
            "From a suggestion by Alex (accepted with the note: Thanks)"
        );
        let long = accepted_reason("Alex", &"x".repeat(REASON_MAX), &"y".repeat(REASON_MAX));
        assert_eq!(long.chars().count(), REASON_MAX);
        assert!(long.starts_with("From a suggestion by Alex") && long.ends_with('…'));
    }

    #[test]
    fn problems_with_the_proposal_become_one_message() {
        let errors = acceptance_errors(FieldErrors::from([
            ("text".to_string(), "Enter the question".to_string()),
            ("note".to_string(), "Too long".to_string()),
        ]));
        assert!(errors["suggestion"].contains("Enter the question."));
        assert_eq!(errors["note"], "Too long");
    }
}
