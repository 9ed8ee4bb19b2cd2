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
fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Roles {
    pub lead: bool,
    pub co_designer: bool,
    pub interviewer: bool,
    pub analyst: bool,
}

impl Roles {
    /// The roles in words, for an invitation: "a co-designer", "a lead and an interviewer".
    pub fn in_words(&self) -> String {
        let names: Vec<String> = [
            (self.lead, "lead"),
            (self.co_designer, "co-designer"),
            (self.interviewer, "interviewer"),
            (self.analyst, "analyst"),
        ]
        .into_iter()
        .filter(|(held, _)| *held)
        .map(|(_, name)| format!("{} {name}", article(name)))
        .collect();
        match names.split_last() {
            None => "a member".into(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        }
    }

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

    /// The one rule for shared views: a lead sees every row and count, and so does an analyst unless
    /// the study says otherwise (`analysts_see_participants`); anyone else (co-designers, and
    /// interviewers where they read counts) gets the shared view. The matrix and its tables, closed
    /// questions, the report and campaign tracking all ask this.
    pub fn view(&self, analysts_see_participants: bool, threshold: i32) -> View {
        if self.lead || (self.analyst && analysts_see_participants) {
            View::Full
        } else {
            View::Shared {
                threshold: i64::from(threshold),
            }
        }
    }
}

/// What a member may read of the study's figures (`Roles::view`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Participant-level rows, every count, every quote.
    Full,
    /// No participant-level rows, no count from 1 to `threshold - 1`, and quotes only once a lead
    /// approved them for sharing.
    Shared { threshold: i64 },
}

impl View {
    pub fn is_shared(self) -> bool {
        matches!(self, View::Shared { .. })
    }

    /// The threshold under which counts are hidden, in the shared view.
    pub fn threshold(self) -> Option<i64> {
        match self {
            View::Full => None,
            View::Shared { threshold } => Some(threshold),
        }
    }

    /// A count as this view shows it.
    pub fn count(self, n: i64) -> SharedCount {
        SharedCount::of(n, self.threshold())
    }

    /// A table of counts whose rows and columns add up (so a total, or the rest of a row, could give
    /// a hidden count away) as this view shows it: in the shared view small counts are hidden and so,
    /// where needed, the next smallest beside them (`suppress`).
    pub fn table(self, table: &[Vec<i64>]) -> Vec<Vec<SharedCount>> {
        let hidden = match self.threshold() {
            Some(threshold) => suppress(table, threshold),
            None => table.iter().map(|row| vec![false; row.len()]).collect(),
        };
        table
            .iter()
            .zip(hidden)
            .map(|(row, hide)| {
                row.iter()
                    .zip(hide)
                    .map(|(&n, hide)| {
                        if hide {
                            SharedCount::hidden()
                        } else {
                            SharedCount::of(n, None)
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

/// Which counts of a table to hide so that no count from 1 to `threshold - 1` can be read or worked
/// out. Each row's cells and each column's cells add up to a total that is shown, so when a row or a
/// column has exactly one hidden count, its smallest other non-zero count is hidden too (otherwise
/// the total minus the rest would give the hidden one away); repeated until nothing changes. Zeros
/// are shown: they single nobody out.
pub fn suppress(table: &[Vec<i64>], threshold: i64) -> Vec<Vec<bool>> {
    let mut hidden: Vec<Vec<bool>> = table
        .iter()
        .map(|row| row.iter().map(|&n| n > 0 && n < threshold).collect())
        .collect();
    let columns = table.iter().map(Vec::len).max().unwrap_or(0);
    // Hides the smallest visible non-zero cell among `cells` when exactly one of them is hidden.
    fn protect(table: &[Vec<i64>], hidden: &mut [Vec<bool>], cells: &[(usize, usize)]) -> bool {
        if cells.iter().filter(|&&(r, c)| hidden[r][c]).count() != 1 {
            return false;
        }
        let smallest = cells
            .iter()
            .filter(|&&(r, c)| !hidden[r][c] && table[r][c] > 0)
            .min_by_key(|&&(r, c)| table[r][c]);
        match smallest {
            Some(&(r, c)) => {
                hidden[r][c] = true;
                true
            }
            None => false,
        }
    }
    loop {
        let mut changed = false;
        for r in 0..table.len() {
            let cells: Vec<(usize, usize)> = (0..table[r].len()).map(|c| (r, c)).collect();
            changed |= protect(table, &mut hidden, &cells);
        }
        for c in 0..columns {
            let cells: Vec<(usize, usize)> = (0..table.len())
                .filter(|&r| c < table[r].len())
                .map(|r| (r, c))
                .collect();
            changed |= protect(table, &mut hidden, &cells);
        }
        if !changed {
            return hidden;
        }
    }
}

/// A count as every shared figure sends it: `{"count": 3, "suppressed": false}`, or
/// `{"count": null, "suppressed": true}` when it is from 1 to the threshold less one. Zeros are shown:
/// they single nobody out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct SharedCount {
    /// None when suppressed.
    pub count: Option<i64>,
    pub suppressed: bool,
}

impl SharedCount {
    pub fn of(n: i64, threshold: Option<i64>) -> Self {
        if threshold.is_some_and(|t| n > 0 && n < t) {
            SharedCount::hidden()
        } else {
            SharedCount {
                count: Some(n),
                suppressed: false,
            }
        }
    }

    pub fn hidden() -> Self {
        SharedCount {
            count: None,
            suppressed: true,
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
    fn roles_read_as_words_in_an_invitation() {
        let roles = |lead, co_designer, interviewer, analyst| Roles {
            lead,
            co_designer,
            interviewer,
            analyst,
        };
        assert_eq!(roles(false, true, false, false).in_words(), "a co-designer");
        assert_eq!(
            roles(false, false, true, false).in_words(),
            "an interviewer"
        );
        assert_eq!(
            roles(true, false, true, false).in_words(),
            "a lead and an interviewer"
        );
        assert_eq!(
            roles(true, true, false, true).in_words(),
            "a lead, a co-designer and an analyst"
        );
    }

    #[test]
    fn jargon_lists_are_tidied_and_limited() {
        let lines = ["  QI ", "", "qi", "PDSA"].map(String::from);
        assert_eq!(check_jargon(&lines).unwrap(), vec!["QI", "PDSA"]);
        assert!(check_jargon(&["x".repeat(61)]).is_err());
    }

    #[test]
    fn shared_tables_hide_what_a_total_would_give_away() {
        let table = [vec![9, 3, 6], vec![8, 7, 0], vec![10, 12, 11]];
        let shared = View::Shared { threshold: 5 }.table(&table);
        // 3 is small; alone in its row, the row's total less 9 and 6 would give it away, so the 6
        // goes too (and so on until no row or column has a lone hidden count).
        assert!(shared[0][1].suppressed && shared[0][2].suppressed);
        assert_eq!(shared[0][0].count, Some(9));
        assert_eq!(shared[1][2].count, Some(0), "zeros single nobody out");
        let full = View::Full.table(&table);
        assert!(full.iter().flatten().all(|c| !c.suppressed));
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

    #[test]
    fn only_leads_and_trusted_analysts_see_small_counts() {
        let designer = Roles {
            co_designer: true,
            ..Roles::default()
        };
        let analyst = Roles {
            analyst: true,
            co_designer: false,
            ..designer
        };
        let lead = Roles {
            lead: true,
            ..designer
        };
        assert_eq!(lead.view(false, 5), View::Full);
        assert_eq!(analyst.view(true, 5), View::Full);
        assert_eq!(analyst.view(false, 5), View::Shared { threshold: 5 });
        let shared = designer.view(true, 5);
        assert_eq!(shared.count(4), SharedCount::hidden());
        assert_eq!(shared.count(0).count, Some(0), "zero singles nobody out");
        assert_eq!(shared.count(5).count, Some(5));
        assert_eq!(View::Full.count(1).count, Some(1));
    }
}
