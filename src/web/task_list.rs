//! The GOV.UK task list pattern's data: steps in order, each with a status in words, where it is done,
//! and, when it cannot start yet, why and what unblocks it (`templates/partials/task_list.html` draws it).

use serde::Serialize;
use utoipa::ToSchema;

/// How far one step has got, in the words of the GOV.UK task list pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    NotStarted,
    InProgress,
    Completed,
    CannotStartYet,
}

impl TaskStatus {
    pub fn label(self) -> &'static str {
        match self {
            TaskStatus::NotStarted => "Not started",
            TaskStatus::InProgress => "In progress",
            TaskStatus::Completed => "Completed",
            TaskStatus::CannotStartYet => "Cannot start yet",
        }
    }
}

/// One step, as the task list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Task {
    /// Stable name of the step (for a study: co_design_group, questionnaire, information, publish,
    /// participants, campaign, interviews, analysis, report).
    pub key: &'static str,
    pub title: &'static str,
    pub status: TaskStatus,
    pub status_label: &'static str,
    /// Where the step is done; none while it cannot start yet.
    pub href: Option<String>,
    /// One line on where the step stands, or why it cannot start yet.
    pub hint: String,
    /// What unblocks a step that cannot start yet.
    pub unblock_href: Option<String>,
    pub unblock_text: Option<&'static str>,
}

impl Task {
    /// A step that can be opened at `href`.
    pub fn open(
        key: &'static str,
        title: &'static str,
        href: String,
        status: TaskStatus,
        hint: impl Into<String>,
    ) -> Task {
        Task {
            key,
            title,
            status,
            status_label: status.label(),
            href: Some(href),
            hint: hint.into(),
            unblock_href: None,
            unblock_text: None,
        }
    }

    /// A step that cannot start yet, saying why and linking to what unblocks it.
    pub fn blocked(
        key: &'static str,
        title: &'static str,
        why: impl Into<String>,
        unblock_text: &'static str,
        unblock_href: String,
    ) -> Task {
        Task {
            key,
            title,
            status: TaskStatus::CannotStartYet,
            status_label: TaskStatus::CannotStartYet.label(),
            href: None,
            hint: why.into(),
            unblock_href: Some(unblock_href),
            unblock_text: Some(unblock_text),
        }
    }
}
