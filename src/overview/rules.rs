//! What the study page's task list says and what waits for a person, with no storage or HTTP: each
//! step of a study in the order the work happens, its status from the study's facts, and why a step
//! cannot start yet with a link to what unblocks it.

use serde::Serialize;
use utoipa::ToSchema;

use crate::studies::rules::{CoDesignBalance, Roles};
use crate::web::task_list::{Task, TaskStatus};

/// The questionnaire the task list follows: the one furthest on (published, then pilot, then draft).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LeadingQuestionnaire {
    pub id: i64,
    /// draft, pilot or published.
    pub status: String,
    pub questions: i64,
    /// The information sheet has a summary, contact details and where to get support.
    pub information_complete: bool,
    pub information_started: bool,
    pub consent_statements: i64,
    pub sign_offs: i64,
    pub published_versions: i64,
}

/// What the task list is worked out from: counts, read in one go for the study.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct StudyFacts {
    pub questionnaires: i64,
    pub leading: Option<LeadingQuestionnaire>,
    pub participants: i64,
    pub draft_campaigns: i64,
    pub launched_campaigns: i64,
    pub open_links: i64,
    pub interviews: i64,
    pub interviews_done: i64,
    pub responses_sent: i64,
    pub codings: i64,
    pub approved_quotes: i64,
}

struct Step {
    key: &'static str,
    title: &'static str,
    href: String,
    state: State,
}

enum State {
    Open(TaskStatus, String),
    Blocked {
        why: String,
        unblock_text: &'static str,
        unblock_href: String,
    },
}

fn open(status: TaskStatus, hint: impl Into<String>) -> State {
    State::Open(status, hint.into())
}

fn plural(count: i64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The steps a member sees, in the order the work happens: leads see all of them; co-designers the
/// co-design steps (and the analysis when the study lets them read it); interviewers the interviews;
/// analysts the analysis and the report.
pub fn study_tasks(
    study_id: i64,
    roles: &Roles,
    co_designers_read_analysis: bool,
    balance: &CoDesignBalance,
    facts: &StudyFacts,
) -> Vec<Task> {
    let base = format!("/studies/{study_id}");
    let questionnaire_href = |tail: &str| match &facts.leading {
        Some(q) => format!("{base}/questionnaires/{}{tail}", q.id),
        None => format!("{base}/questionnaires/new"),
    };
    let published = facts
        .leading
        .as_ref()
        .is_some_and(|q| q.published_versions > 0);
    let publish_first = |why: &str| State::Blocked {
        why: format!("{why} A questionnaire must be published first."),
        unblock_text: "Sign-off and publishing",
        unblock_href: questionnaire_href("/versions"),
    };
    let answered = facts.responses_sent + facts.interviews_done;

    let mut steps = Vec::new();
    let co_design = roles.lead || roles.co_designer;
    if co_design {
        let advisors = balance.service_user_advisors + balance.carer_advisors;
        let state = match (advisors, balance.staff) {
            (0, staff) if staff <= 1 => open(TaskStatus::NotStarted, "Add service-user and carer advisors and staff as co-designers."),
            (0, _) => open(TaskStatus::InProgress, "No service-user or carer advisor yet: add at least one, so they design it as equals." ),
            (advisors, staff) => open(TaskStatus::Completed, format!( "{} and {}.", plural(advisors as i64, "advisor", "advisors"), plural(staff as i64, "staff member", "staff members") )),
        };
        steps.push(Step {
            key: "co_design_group",
            title: "Co-design group",
            href: format!("{base}#members"),
            state,
        });
        let state = match &facts.leading {
            None => open(TaskStatus::NotStarted, "No questionnaire yet."),
            Some(q) if q.questions == 0 => open(TaskStatus::NotStarted, "No questions yet."),
            Some(q) if q.published_versions > 0 => open(
                TaskStatus::Completed,
                format!(
                    "{}, published as version {}.",
                    plural(q.questions, "question", "questions"),
                    q.published_versions
                ),
            ),
            Some(q) => open(
                TaskStatus::InProgress,
                format!("{} drafted.", plural(q.questions, "question", "questions")),
            ),
        };
        steps.push(Step {
            key: "questionnaire",
            title: "Questionnaire",
            href: if facts.questionnaires > 1 {
                format!("{base}#questionnaires")
            } else {
                questionnaire_href("")
            },
            state,
        });
        let state = match &facts.leading {
            None => State::Blocked {
                why: "The information sheet belongs to a questionnaire.".into(),
                unblock_text: "Create a questionnaire",
                unblock_href: format!("{base}/questionnaires/new"),
            },
            Some(q) if q.information_complete && q.consent_statements > 0 => open(TaskStatus::Completed, format!( "Information sheet ready; {}.", plural(q.consent_statements, "consent statement", "consent statements") )),
            Some(q) if q.information_started => open(TaskStatus::InProgress, "The sheet still needs a summary, contact details and where to get support, and at least one consent statement." ),
            Some(_) => open(TaskStatus::NotStarted, "What participants read before they agree, and what they agree to."),
        };
        steps.push(Step {
            key: "information",
            title: "Information and consent",
            // Straight to the form until the sheet is complete; then to read it.
            href: questionnaire_href(match &facts.leading {
                Some(q) if q.information_complete && q.consent_statements > 0 => "/information",
                _ => "/information/edit",
            }),
            state,
        });
        let state = match &facts.leading {
            Some(q) if q.published_versions > 0 => open(
                TaskStatus::Completed,
                format!("Version {} published.", q.published_versions),
            ),
            Some(q) if q.questions > 0 && q.status == "pilot" => open(
                TaskStatus::InProgress,
                format!(
                    "In pilot; {} so far.",
                    plural(q.sign_offs, "sign-off", "sign-offs")
                ),
            ),
            Some(q) if q.questions > 0 => open(
                TaskStatus::NotStarted,
                "Pilot the draft, gather sign-off from the co-design group, then publish.",
            ),
            _ => State::Blocked {
                why: "There is nothing to sign off until the questionnaire has questions.".into(),
                unblock_text: "Write the questionnaire",
                unblock_href: questionnaire_href(""),
            },
        };
        steps.push(Step {
            key: "publish",
            title: "Sign-off and publishing",
            href: questionnaire_href("/versions"),
            state,
        });
    }
    if roles.lead {
        let state = if facts.participants == 0 {
            open(
                TaskStatus::NotStarted,
                "Add people one by one or import a CSV file.",
            )
        } else {
            open(
                TaskStatus::Completed,
                format!(
                    "{} on the roster.",
                    plural(facts.participants, "person", "people")
                ),
            )
        };
        steps.push(Step {
            key: "participants",
            title: "Participants",
            href: format!("{base}/participants"),
            state,
        });
        let state = if !published {
            publish_first("Campaigns send a published version.")
        } else if facts.launched_campaigns > 0 || facts.open_links > 0 {
            open(
                TaskStatus::Completed,
                format!(
                    "{} sent; {}.",
                    plural(facts.launched_campaigns, "campaign", "campaigns"),
                    plural(facts.open_links, "open link", "open links")
                ),
            )
        } else if facts.participants == 0 {
            State::Blocked {
                why: "A campaign sends the questionnaire to people on the roster, and it is empty."
                    .into(),

                unblock_text: "Add participants",
                unblock_href: format!("{base}/participants"),
            }
        } else if facts.draft_campaigns > 0 {
            open(
                TaskStatus::InProgress,
                "A campaign is drafted but not sent yet.",
            )
        } else {
            open(
                TaskStatus::NotStarted,
                "Invite people by their own email link, with reminders.",
            )
        };
        steps.push(Step {
            key: "campaign",
            title: "Campaign",
            href: format!("{base}/campaigns"),
            state,
        });
    }
    if roles.lead || roles.interviewer {
        let state = if !published {
            publish_first("Interviews follow a published guide.")
        } else if facts.interviews == 0 {
            open(
                TaskStatus::NotStarted,
                if roles.lead {
                    "Assign interviews to interviewers."
                } else {
                    "No interview is assigned to you yet."
                },
            )
        } else if facts.interviews_done < facts.interviews {
            open(
                TaskStatus::InProgress,
                format!(
                    "{} of {} done.",
                    facts.interviews_done,
                    plural(facts.interviews, "interview", "interviews")
                ),
            )
        } else {
            open(
                TaskStatus::Completed,
                format!(
                    "All {} done.",
                    plural(facts.interviews, "interview", "interviews")
                ),
            )
        };
        steps.push(Step {
            key: "interviews",
            title: if roles.lead {
                "Interviews"
            } else {
                "Your interviews"
            },
            href: format!("{base}/interviews"),
            state,
        });
    }
    let reads_analysis = roles.lead || roles.analyst;
    let sees_matrix = reads_analysis || (roles.co_designer && co_designers_read_analysis);
    if sees_matrix {
        let state = if answered == 0 {
            State::Blocked {
                why: "Nobody has sent answers or been interviewed yet.".into(),
                unblock_text: if roles.lead {
                    "Send a campaign"
                } else {
                    "Back to the study"
                },
                unblock_href: if roles.lead {
                    format!("{base}/campaigns")
                } else {
                    base.clone()
                },
            }
        } else if facts.codings == 0 {
            open(
                TaskStatus::NotStarted,
                format!(
                    "{} to code against COM-B.",
                    plural(
                        answered,
                        "response or interview",
                        "responses and interviews"
                    )
                ),
            )
        } else {
            open(
                TaskStatus::InProgress,
                format!(
                    "{} coded so far.",
                    plural(facts.codings, "passage", "passages")
                ),
            )
        };
        steps.push(Step {
            key: "analysis",
            title: "Analysis",
            href: if reads_analysis {
                format!("{base}/coding")
            } else {
                format!("{base}/matrix")
            },
            state,
        });
    }
    if reads_analysis {
        let state = if facts.codings == 0 {
            State::Blocked {
                why: "The report summarises what has been coded, and nothing has been yet.".into(),
                unblock_text: "Code answers and notes",
                unblock_href: format!("{base}/coding"),
            }
        } else if facts.approved_quotes == 0 {
            open(
                TaskStatus::NotStarted,
                "Approve quotes from people who agreed to be quoted, then share the report.",
            )
        } else {
            open(
                TaskStatus::InProgress,
                format!(
                    "{} approved.",
                    plural(facts.approved_quotes, "quote", "quotes")
                ),
            )
        };
        steps.push(Step {
            key: "report",
            title: "Learning report",
            href: format!("{base}/report"),
            state,
        });
    }
    steps
        .into_iter()
        .map(|step| match step.state {
            State::Open(status, hint) => Task::open(step.key, step.title, step.href, status, hint),
            State::Blocked {
                why,
                unblock_text,
                unblock_href,
            } => Task::blocked(step.key, step.title, why, unblock_text, unblock_href),
        })
        .collect()
}

/// What the setup checklist is worked out from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct InstallFacts {
    pub organisation_named: bool,
    /// Name, contact and privacy notice all given.
    pub organisation_described: bool,
    pub mail_checked: bool,
    /// Emails are only written to files.
    pub no_mail_server: bool,
    pub accounts: i64,
    pub studies: i64,
}

/// An administrator's way from an empty install to the first study.
pub fn setup_tasks(facts: &InstallFacts) -> Vec<Task> {
    let status = |done: bool, begun: bool| match (done, begun) {
        (true, _) => TaskStatus::Completed,
        (false, true) => TaskStatus::InProgress,
        (false, false) => TaskStatus::NotStarted,
    };
    vec![
        Task::open(
            "organisation",
            "Your organisation",
            "/admin/organisation".into(),
            status(facts.organisation_described, facts.organisation_named),
            if facts.organisation_described {
                "Name, contact and privacy notice given; they show on every page."
            } else {
                "Give its contact details and privacy notice: every page shows them."
            },
        ),
        Task::open(
            "mail",
            "Check that emails reach people",
            "/admin/setup#mail".into(),
            status(facts.mail_checked, false),
            if facts.mail_checked {
                "The mail server accepted a test email."
            } else if facts.no_mail_server {
                "No mail server is set up yet: emails are only written to files."
            } else {
                "Send yourself a test email."
            },
        ),
        Task::open(
            "people",
            "Invite the people who will use Voices",
            "/admin/users/invite".into(),
            status(facts.accounts > 1, false),
            if facts.accounts > 1 {
                format!(
                    "{} have accounts.",
                    plural(facts.accounts, "person", "people")
                )
            } else {
                "Study leads, co-designers, interviewers and analysts; study leads can also invite people into their study.".into()
            },
        ),
        Task::open(
            "study",
            "Create the first study",
            "/studies/new".into(),
            status(facts.studies > 0, false),
            if facts.studies > 0 {
                format!("{} so far.", plural(facts.studies, "study", "studies"))
            } else {
                "Its page then lists every step, from the co-design group to the report.".into()
            },
        ),
    ]
}

/// One kind of thing waiting for a person in one study.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WaitingKind {
    SignOff,
    Suggestions,
    Replies,
    InterviewsToday,
    FollowUps,
    DoubleCoding,
    Quotes,
}

/// Something waiting for this person, with how many and where to act on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Waiting {
    pub study_id: i64,
    pub kind: WaitingKind,
    pub count: i64,
    pub text: String,
    pub href: String,
}

/// Words and link for a count of one kind; `target` is the questionnaire, round or study it is in.
pub fn waiting(study_id: i64, kind: WaitingKind, target: i64, count: i64) -> Waiting {
    let base = format!("/studies/{study_id}");
    let (text, href) = match kind {
        WaitingKind::SignOff => (
            "The questionnaire is in pilot and waits for your sign-off".to_string(),
            format!("{base}/questionnaires/{target}/versions"),
        ),
        WaitingKind::Suggestions => (
            plural(count, "suggestion to decide", "suggestions to decide"),
            format!("{base}/questionnaires/{target}"),
        ),
        WaitingKind::Replies => (
            plural(
                count,
                "reply to your comments, still open",
                "replies to your comments, still open",
            ),
            format!("{base}/questionnaires/{target}"),
        ),
        WaitingKind::InterviewsToday => (
            plural(count, "interview today", "interviews today"),
            format!("{base}/interviews"),
        ),
        WaitingKind::FollowUps => (
            plural(
                count,
                "follow-up after an interview",
                "follow-ups after interviews",
            ),
            format!("{base}/interviews"),
        ),
        WaitingKind::DoubleCoding => (
            plural(
                count,
                "answer to code in a double-coding round",
                "answers to code in a double-coding round",
            ),
            format!("{base}/rounds/{target}"),
        ),
        WaitingKind::Quotes => (
            plural(
                count,
                "coded passage that could be approved as a quote",
                "coded passages that could be approved as quotes",
            ),
            format!("{base}/quotes"),
        ),
    };
    Waiting {
        study_id,
        kind,
        count,
        text,
        href,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead() -> Roles {
        Roles {
            lead: true,
            ..Roles::default()
        }
    }

    fn balance(staff: usize, advisors: usize) -> CoDesignBalance {
        CoDesignBalance {
            staff,
            service_user_advisors: advisors,
            carer_advisors: 0,
        }
    }

    fn status_of(tasks: &[Task], key: &str) -> TaskStatus {
        tasks.iter().find(|t| t.key == key).unwrap().status
    }

    #[test]
    fn an_empty_study_starts_with_the_group_and_the_questionnaire_and_says_what_blocks_the_rest() {
        let tasks = study_tasks(7, &lead(), false, &balance(1, 0), &StudyFacts::default());
        let keys: Vec<_> = tasks.iter().map(|t| t.key).collect();
        assert_eq!(
            keys,
            [
                "co_design_group",
                "questionnaire",
                "information",
                "publish",
                "participants",
                "campaign",
                "interviews",
                "analysis",
                "report"
            ]
        );
        assert_eq!(status_of(&tasks, "co_design_group"), TaskStatus::NotStarted);
        assert_eq!(
            tasks[1].href.as_deref(),
            Some("/studies/7/questionnaires/new")
        );
        let campaign = tasks.iter().find(|t| t.key == "campaign").unwrap();
        assert_eq!(campaign.status, TaskStatus::CannotStartYet);
        assert!(campaign.href.is_none());
        assert!(campaign.hint.contains("published"));
        assert!(campaign.unblock_href.is_some());
    }

    #[test]
    fn a_published_questionnaire_with_a_sent_campaign_completes_the_way_to_answers() {
        let facts = StudyFacts {
            questionnaires: 1,
            leading: Some(LeadingQuestionnaire {
                id: 3,
                status: "published".into(),
                questions: 12,
                information_complete: true,
                information_started: true,
                consent_statements: 4,
                sign_offs: 2,
                published_versions: 1,
            }),
            participants: 40,
            launched_campaigns: 1,
            responses_sent: 5,
            ..StudyFacts::default()
        };
        let tasks = study_tasks(7, &lead(), false, &balance(2, 2), &facts);
        for key in [
            "co_design_group",
            "questionnaire",
            "information",
            "publish",
            "participants",
            "campaign",
        ] {
            assert_eq!(status_of(&tasks, key), TaskStatus::Completed, "{key}");
        }
        assert_eq!(status_of(&tasks, "analysis"), TaskStatus::NotStarted);
        assert_eq!(status_of(&tasks, "report"), TaskStatus::CannotStartYet);
    }

    #[test]
    fn each_role_sees_its_own_steps() {
        let facts = StudyFacts::default();
        let keys = |roles: Roles, read: bool| -> Vec<&'static str> {
            study_tasks(1, &roles, read, &balance(1, 1), &facts)
                .into_iter()
                .map(|t| t.key)
                .collect()
        };
        let co_designer = Roles {
            co_designer: true,
            ..Roles::default()
        };
        assert_eq!(
            keys(co_designer, false),
            ["co_design_group", "questionnaire", "information", "publish"]
        );
        assert!(keys(co_designer, true).contains(&"analysis"));
        assert!(!keys(co_designer, true).contains(&"report"));
        let interviewer = Roles {
            interviewer: true,
            ..Roles::default()
        };
        assert_eq!(keys(interviewer, false), ["interviews"]);
        let analyst = Roles {
            analyst: true,
            ..Roles::default()
        };
        assert_eq!(keys(analyst, false), ["analysis", "report"]);
    }

    #[test]
    fn a_group_of_staff_only_is_not_complete() {
        let tasks = study_tasks(1, &lead(), false, &balance(3, 0), &StudyFacts::default());
        assert_eq!(status_of(&tasks, "co_design_group"), TaskStatus::InProgress);
    }
}
