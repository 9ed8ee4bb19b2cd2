//! Study rules with no storage or HTTP: study roles, perspectives and what each role may do.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StudyRole {
    Lead,
    CoDesigner,
    Interviewer,
    Analyst,
}

/// Whose experience a member brings to the study. Service-user and carer advisors are equal editors;
/// counting perspectives shows the balance of the co-design group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Perspective {
    Staff,
    ServiceUser,
    Carer,
}

impl Perspective {
    pub fn as_str(self) -> &'static str {
        match self {
            Perspective::Staff => "staff",
            Perspective::ServiceUser => "service_user",
            Perspective::Carer => "carer",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "staff" => Some(Perspective::Staff),
            "service_user" => Some(Perspective::ServiceUser),
            "carer" => Some(Perspective::Carer),
            _ => None,
        }
    }
}

/// The study roles one member holds; any combination, at least one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Roles {
    pub lead: bool,
    pub co_designer: bool,
    pub interviewer: bool,
    pub analyst: bool,
}

impl Roles {
    pub fn has(&self, role: StudyRole) -> bool {
        match role {
            StudyRole::Lead => self.lead,
            StudyRole::CoDesigner => self.co_designer,
            StudyRole::Interviewer => self.interviewer,
            StudyRole::Analyst => self.analyst,
        }
    }

    pub fn any(&self) -> bool {
        self.lead || self.co_designer || self.interviewer || self.analyst
    }

    /// Leads and co-designers shape the questionnaire; everyone else reads it.
    pub fn can_edit_questionnaires(&self) -> bool {
        self.lead || self.co_designer
    }

    /// The one rule for whose identity (name, contact details) a member may see: a lead sees every
    /// participant's, an interviewer only their own interviewees', anyone else nobody's. Every page,
    /// API route, export and email preview that could show an identity asks this.
    pub fn identities(&self) -> IdentityView {
        if self.lead {
            IdentityView::Everyone
        } else if self.interviewer {
            IdentityView::OwnInterviewees
        } else {
            IdentityView::Nobody
        }
    }
}

/// Whose identities a member sees (`Roles::identities`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityView {
    Everyone,
    OwnInterviewees,
    Nobody,
}

/// Who previews show to anyone who may not see identities: made up, and plainly so.
pub const SAMPLE_PERSON: (&str, &str) = ("P-0000", "Alex Sample");

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct CoDesignBalance {
    pub staff: usize,
    pub service_user_advisors: usize,
    pub carer_advisors: usize,
}

/// Counts the co-design group (leads and co-designers) by perspective.
pub fn co_design_balance<'a>(
    members: impl IntoIterator<Item = (&'a Roles, Perspective)>,
) -> CoDesignBalance {
    members
        .into_iter()
        .filter(|(roles, _)| roles.can_edit_questionnaires())
        .fold(
            CoDesignBalance::default(),
            |mut balance, (_, perspective)| {
                match perspective {
                    Perspective::Staff => balance.staff += 1,
                    Perspective::ServiceUser => balance.service_user_advisors += 1,
                    Perspective::Carer => balance.carer_advisors += 1,
                }
                balance
            },
        )
}

pub const JARGON_TERM_MAX: usize = 60;
pub const JARGON_TERMS_MAX: usize = 200;

/// Tidies a jargon list (one term per line on the page): trimmed, no blanks, no repeats ignoring case.
pub fn check_jargon(lines: &[String]) -> Result<Vec<String>, String> {
    let mut terms: Vec<String> = Vec::new();
    for line in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        if line.chars().count() > JARGON_TERM_MAX {
            return Err(format!(
                "Each word or phrase can be up to {JARGON_TERM_MAX} characters"
            ));
        }
        if !terms
            .iter()
            .any(|t| t.to_lowercase() == line.to_lowercase())
        {
            terms.push(line.to_string());
        }
    }
    if terms.len() > JARGON_TERMS_MAX {
        return Err(format!(
            "The list can have up to {JARGON_TERMS_MAX} words and phrases"
        ));
    }
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jargon_lists_are_tidied_and_limited() {
        let lines = ["  QI ", "", "qi", "PDSA"].map(String::from);
        assert_eq!(check_jargon(&lines).unwrap(), vec!["QI", "PDSA"]);
        assert!(check_jargon(&["x".repeat(61)]).is_err());
    }

    #[test]
    fn balance_counts_only_the_co_design_group() {
        let lead = Roles {
            lead: true,
            ..Roles::default()
        };
        let designer = Roles {
            co_designer: true,
            ..Roles::default()
        };
        let analyst = Roles {
            analyst: true,
            ..Roles::default()
        };
        let balance = co_design_balance([
            (&lead, Perspective::Staff),
            (&designer, Perspective::ServiceUser),
            (&designer, Perspective::Carer),
            (&analyst, Perspective::ServiceUser),
        ]);
        assert_eq!(
            balance,
            CoDesignBalance {
                staff: 1,
                service_user_advisors: 1,
                carer_advisors: 1
            }
        );
        assert!(!Roles::default().any());
        assert!(analyst.has(StudyRole::Analyst) && !analyst.can_edit_questionnaires());
        assert_eq!(Perspective::parse("carer"), Some(Perspective::Carer));
        assert_eq!(Perspective::parse("patient"), None);
    }
}
