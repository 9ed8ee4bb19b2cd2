//! Tracking with no storage or HTTP: each recipient's email and progress, counted overall and per group,
//! service and system level, as a funnel, with small counts suppressed in shared views.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::distribution::participants::rules::Progress;
use crate::studies::rules::SharedCount;

/// Where a recipient's invitation email is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Queued,
    Sent,
    Failed,
    NotSent,
}

impl Delivery {
    pub fn from_status(status: Option<&str>) -> Self {
        match status {
            Some("sent") => Delivery::Sent,
            Some("failed") => Delivery::Failed,
            Some("queued" | "sending") => Delivery::Queued,
            _ => Delivery::NotSent,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sent => "sent",
            Delivery::Failed => "failed",
            Delivery::NotSent => "not_sent",
        }
    }
}

/// One recipient of a campaign, pseudonymous.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecipientStatus {
    pub participant_id: i64,
    pub code: String,
    pub group: String,
    pub service_area: String,
    pub system_level: String,
    pub delivery: Delivery,
    pub progress: Progress,
    /// The furthest step reached on the way to sending answers, even for someone who later withdrew:
    /// the counts keep them where they got to, and withdrawal is a column of its own.
    pub furthest: Progress,
    pub reminders_sent: i32,
}

/// The columns of every tracking table, in funnel order.
pub const COLUMNS: &[&str] = &[
    "queued",
    "sent",
    "failed",
    "opened",
    "consented",
    "declined",
    "in_progress",
    "completed",
    "withdrawn",
    "opted_out",
];

pub fn column_label(column: &str) -> &'static str {
    match column {
        "queued" => "Email waiting",
        "sent" => "Email sent",
        "failed" => "Email failed",
        "opened" => "Opened the link",
        "consented" => "Consented",
        "declined" => "Declined",
        "in_progress" => "Started answering",
        "completed" => "Completed",
        "withdrawn" => "Withdrawn",
        _ => "Opted out",
    }
}

/// The columns a recipient counts in. Email columns say where the invitation is; the others are how
/// far the person got, so someone who completed also counts as having opened and consented (a funnel).
fn columns_of(recipient: &RecipientStatus) -> Vec<&'static str> {
    let mut columns = vec![recipient.delivery.as_str()];
    let reached = |step: Progress| -> bool {
        use Progress::*;
        let order = [Opened, Consented, InProgress, Completed];
        match (
            order.iter().position(|p| *p == step),
            order.iter().position(|p| *p == recipient.furthest),
        ) {
            (Some(wanted), Some(at)) => at >= wanted,
            _ => false,
        }
    };
    for (column, step) in [
        ("opened", Progress::Opened),
        ("consented", Progress::Consented),
        ("in_progress", Progress::InProgress),
        ("completed", Progress::Completed),
    ] {
        if reached(step) {
            columns.push(column);
        }
    }
    match recipient.progress {
        Progress::Declined => columns.extend(["opened", "declined"]),
        Progress::Withdrawn => columns.push("withdrawn"),
        Progress::OptedOut => columns.push("opted_out"),
        _ => {}
    }
    columns
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountRow {
    /// The group, service or level (or "All recipients").
    pub label: String,
    pub total: SharedCount,
    /// One count per entry of `COLUMNS`.
    pub counts: Vec<SharedCount>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Breakdown {
    pub title: String,
    pub rows: Vec<CountRow>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub columns: Vec<String>,
    pub column_labels: Vec<String>,
    pub overall: CountRow,
    pub breakdowns: Vec<Breakdown>,
    /// Recipients who reached each step, in order, with the share of those sent an email.
    pub funnel: Vec<FunnelStep>,
    /// Counts from 1 to this minus one are hidden (None when nothing is hidden).
    pub suppress_below: Option<i64>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(as = CampaignFunnelStep)]
pub struct FunnelStep {
    pub label: String,
    pub count: SharedCount,
    /// Percentage of those sent an email, when shown.
    pub percent: Option<i64>,
}

fn row(label: String, recipients: &[&RecipientStatus], threshold: Option<i64>) -> CountRow {
    let mut tally: BTreeMap<&str, i64> = BTreeMap::new();
    for recipient in recipients {
        for column in columns_of(recipient) {
            *tally.entry(column).or_default() += 1;
        }
    }
    CountRow {
        label,
        total: SharedCount::of(recipients.len() as i64, threshold),
        counts: COLUMNS
            .iter()
            .map(|c| SharedCount::of(tally.get(c).copied().unwrap_or(0), threshold))
            .collect(),
    }
}

fn breakdown(
    title: &str,
    recipients: &[RecipientStatus],
    key: impl Fn(&RecipientStatus) -> String,
    threshold: Option<i64>,
) -> Breakdown {
    let mut groups: BTreeMap<String, Vec<&RecipientStatus>> = BTreeMap::new();
    for recipient in recipients {
        let label = key(recipient);
        let label = if label.is_empty() {
            "Not recorded".to_string()
        } else {
            label
        };
        groups.entry(label).or_default().push(recipient);
    }
    Breakdown {
        title: title.into(),
        rows: groups
            .into_iter()
            .map(|(label, members)| row(label, &members, threshold))
            .collect(),
    }
}

/// Counts everything. `suppress_below`: in shared views, the study's threshold (counts from 1 up to
/// one less are hidden, so that nobody can be picked out of a small group).
pub fn summarise(recipients: &[RecipientStatus], suppress_below: Option<i64>) -> Summary {
    use crate::distribution::participants::rules::{Group, SystemLevel};
    let all: Vec<&RecipientStatus> = recipients.iter().collect();
    let overall = row("All recipients".into(), &all, suppress_below);
    let value_of = |column: &str| -> i64 {
        let index = COLUMNS.iter().position(|c| *c == column).unwrap_or(0);
        all.iter()
            .filter(|r| columns_of(r).contains(&COLUMNS[index]))
            .count() as i64
    };
    let sent = value_of("sent");
    let funnel = ["sent", "opened", "consented", "completed"]
        .iter()
        .map(|column| {
            let n = value_of(column);
            let count = SharedCount::of(n, suppress_below);
            FunnelStep {
                label: column_label(column).into(),
                percent: (sent > 0 && !count.suppressed).then(|| (n * 100 + sent / 2) / sent),
                count,
            }
        })
        .collect();
    Summary {
        columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
        column_labels: COLUMNS
            .iter()
            .map(|c| column_label(c).to_string())
            .collect(),
        overall,
        breakdowns: vec![
            breakdown(
                "By group",
                recipients,
                |r| {
                    Group::parse(&r.group)
                        .map(|g| g.label().to_string())
                        .unwrap_or_default()
                },
                suppress_below,
            ),
            breakdown(
                "By service",
                recipients,
                |r| r.service_area.clone(),
                suppress_below,
            ),
            breakdown(
                "By system level",
                recipients,
                |r| {
                    SystemLevel::parse(&r.system_level)
                        .map(|l| l.label().to_string())
                        .unwrap_or_default()
                },
                suppress_below,
            ),
        ],
        funnel,
        suppress_below,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(group: &str, delivery: Delivery, progress: Progress) -> RecipientStatus {
        RecipientStatus {
            participant_id: 1,
            code: "P-0001".into(),
            group: group.into(),
            service_area: "Community".into(),
            system_level: "micro".into(),
            delivery,
            progress,
            furthest: progress,
            reminders_sent: 0,
        }
    }

    #[test]
    fn someone_who_withdrew_counts_as_far_as_they_got() {
        let mut withdrew = recipient("staff", Delivery::Sent, Progress::Withdrawn);
        withdrew.furthest = Progress::Completed;
        let mut early = recipient("staff", Delivery::Sent, Progress::Withdrawn);
        early.furthest = Progress::Consented;
        let summary = summarise(&[withdrew, early], None);
        let all = &summary.overall;
        for (column, count) in [
            ("opened", 2),
            ("consented", 2),
            ("in_progress", 1),
            ("completed", 1),
            ("withdrawn", 2),
        ] {
            assert_eq!(value(all, column), Some(count), "{column}");
        }
    }

    fn value(row: &CountRow, column: &str) -> Option<i64> {
        row.counts[COLUMNS.iter().position(|c| *c == column).unwrap()].count
    }

    #[test]
    fn progress_counts_as_a_funnel() {
        let mut recipients = vec![
            recipient("staff", Delivery::Sent, Progress::Completed),
            recipient("staff", Delivery::Sent, Progress::Opened),
            recipient("carer", Delivery::Sent, Progress::Invited),
            recipient("carer", Delivery::Failed, Progress::Invited),
            recipient("carer", Delivery::Queued, Progress::Invited),
            recipient("carer", Delivery::Sent, Progress::OptedOut),
        ];
        recipients.push(recipient("carer", Delivery::Sent, Progress::Declined));
        let summary = summarise(&recipients, None);
        let all = &summary.overall;
        assert_eq!(all.total.count, Some(7));
        assert_eq!(value(all, "sent"), Some(5));
        assert_eq!(value(all, "failed"), Some(1));
        assert_eq!(value(all, "queued"), Some(1));
        assert_eq!(value(all, "opened"), Some(3));
        assert_eq!(value(all, "consented"), Some(1));
        assert_eq!(value(all, "completed"), Some(1));
        assert_eq!(value(all, "declined"), Some(1));
        assert_eq!(value(all, "opted_out"), Some(1));
        let funnel: Vec<_> = summary.funnel.iter().map(|s| s.percent).collect();
        assert_eq!(funnel, vec![Some(100), Some(60), Some(20), Some(20)]);
        let groups = &summary.breakdowns[0];
        assert_eq!(groups.rows[0].label, "Carer");
        assert_eq!(groups.rows[0].total.count, Some(5));
    }

    #[test]
    fn small_counts_are_hidden_in_shared_views_but_zero_is_not() {
        let recipients = vec![
            recipient("staff", Delivery::Sent, Progress::Completed),
            recipient("staff", Delivery::Sent, Progress::Invited),
        ];
        let shared = summarise(&recipients, Some(5));
        assert!(shared.overall.total.suppressed);
        assert_eq!(shared.overall.total.count, None);
        assert_eq!(value(&shared.overall, "failed"), Some(0));
        assert!(shared.funnel.iter().all(|s| s.percent.is_none()));
    }
}
