//! Participant vocabulary with no storage or HTTP: groups, system levels, communication needs and
//! interview modes, each with the value stored and the words people read.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Declares a closed vocabulary: stored value, label for people, and parsing that also accepts the
/// label (CSV files are typed by people).
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $value:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $value),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            /// The stored value or the label, ignoring case, spaces, hyphens and underscores.
            pub fn parse(text: &str) -> Option<Self> {
                let wanted = simplify(text);
                Self::ALL.iter().copied().find(|v| {
                    simplify(v.as_str()) == wanted || simplify(v.label()) == wanted
                })
            }
        }
    };
}

fn simplify(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '/'))
        .flat_map(char::to_lowercase)
        .collect()
}

vocabulary!(
    /// Whose experience a participant speaks from.
    Group {
        Staff => "staff", "Staff";
        ServiceUser => "service_user", "Service user";
        Carer => "carer", "Carer";
    }
);

vocabulary!(
    /// Where in the organisation a participant works or is involved.
    SystemLevel {
        Micro => "micro", "Micro (team or ward)";
        Meso => "meso", "Meso (service or directorate)";
        Macro => "macro", "Macro (organisation or system)";
    }
);

vocabulary!(
    /// The Accessible Information Standard's categories that change how we contact and interview someone.
    CommunicationNeed {
        EasyRead => "easy_read", "Easy read";
        LargePrint => "large_print", "Large print";
        InterpreterBsl => "interpreter_bsl", "Interpreter or BSL";
        PhoneInterview => "phone_interview", "Phone interview";
    }
);

vocabulary!(
    /// How a participant would prefer to take part.
    InterviewMode {
        Online => "online", "Online questionnaire";
        InPerson => "in_person", "In person";
        Phone => "phone", "Phone";
        Video => "video", "Video call";
    }
);

/// Where a participant has got to with one questionnaire, furthest first wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    NotInvited,
    Invited,
    Opened,
    Consented,
    Declined,
    InProgress,
    Completed,
    Withdrawn,
    OptedOut,
}

impl Progress {
    pub const ALL: &'static [Progress] = &[
        Progress::NotInvited,
        Progress::Invited,
        Progress::Opened,
        Progress::Consented,
        Progress::Declined,
        Progress::InProgress,
        Progress::Completed,
        Progress::Withdrawn,
        Progress::OptedOut,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Progress::NotInvited => "not_invited",
            Progress::Invited => "invited",
            Progress::Opened => "opened",
            Progress::Consented => "consented",
            Progress::Declined => "declined",
            Progress::InProgress => "in_progress",
            Progress::Completed => "completed",
            Progress::Withdrawn => "withdrawn",
            Progress::OptedOut => "opted_out",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Progress::NotInvited => "Not invited",
            Progress::Invited => "Invited",
            Progress::Opened => "Opened the link",
            Progress::Consented => "Consented",
            Progress::Declined => "Declined",
            Progress::InProgress => "In progress",
            Progress::Completed => "Completed",
            Progress::Withdrawn => "Withdrawn",
            Progress::OptedOut => "Opted out",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.as_str() == text)
    }

    /// From a participation's milestones (any of which may be missing). Opting out and withdrawing
    /// override everything; otherwise the furthest step reached.
    pub fn from_milestones(m: &Milestones) -> Self {
        if m.opted_out {
            Progress::OptedOut
        } else if m.withdrawn {
            Progress::Withdrawn
        } else if m.completed {
            Progress::Completed
        } else if m.declined {
            Progress::Declined
        } else if m.started {
            Progress::InProgress
        } else if m.consented {
            Progress::Consented
        } else if m.opened {
            Progress::Opened
        } else if m.invited {
            Progress::Invited
        } else {
            Progress::NotInvited
        }
    }

    /// Someone at this step has finished with the questionnaire one way or another: no reminders.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Progress::Completed | Progress::Declined | Progress::Withdrawn | Progress::OptedOut
        )
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Milestones {
    pub invited: bool,
    pub opened: bool,
    pub consented: bool,
    pub declined: bool,
    pub started: bool,
    pub completed: bool,
    pub withdrawn: bool,
    pub opted_out: bool,
}

/// Pseudonymous codes: P-0001 ... P-9999, then P-10000 and on.
pub fn participant_code(number: i32) -> String {
    format!("P-{number:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_accept_values_and_labels() {
        assert_eq!(Group::parse("service user"), Some(Group::ServiceUser));
        assert_eq!(Group::parse("Service_User"), Some(Group::ServiceUser));
        assert_eq!(Group::parse("CARER"), Some(Group::Carer));
        assert_eq!(Group::parse("patient"), None);
        assert_eq!(
            CommunicationNeed::parse("Interpreter or BSL"),
            Some(CommunicationNeed::InterpreterBsl)
        );
        assert_eq!(SystemLevel::parse("meso"), Some(SystemLevel::Meso));
    }

    #[test]
    fn progress_takes_the_furthest_step_and_opt_out_wins() {
        let mut m = Milestones {
            invited: true,
            opened: true,
            consented: true,
            ..Milestones::default()
        };
        assert_eq!(Progress::from_milestones(&m), Progress::Consented);
        m.completed = true;
        assert_eq!(Progress::from_milestones(&m), Progress::Completed);
        m.opted_out = true;
        assert_eq!(Progress::from_milestones(&m), Progress::OptedOut);
        assert!(Progress::OptedOut.is_finished() && !Progress::Opened.is_finished());
        assert_eq!(participant_code(42), "P-0042");
        assert_eq!(participant_code(12345), "P-12345");
    }
}
