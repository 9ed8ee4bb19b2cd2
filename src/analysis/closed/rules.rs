//! Closed-question counts with no storage or HTTP: for each choice, yes/no/not sure, Likert and 0–10
//! question, how many chose each option, overall and per group, with how many answered and skipped;
//! Likert options marked by side for a diverging stacked bar; the response funnel; and small-count
//! suppression for outputs shared beyond the study team.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::analysis::exports::rules::{ExportData, ExportQuestion};
use crate::distribution::participants::rules::Group;
use crate::studies::questionnaires::rules::QuestionKind;
use crate::studies::rules::suppress;

/// The kinds counted here.
pub const CLOSED_KINDS: [QuestionKind; 5] = [
    QuestionKind::SingleChoice,
    QuestionKind::MultipleChoice,
    QuestionKind::YesNoNotSure,
    QuestionKind::Likert,
    QuestionKind::Scale0To10,
];

/// A count as shown, with its percentage; both hidden when suppressed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Cell {
    pub count: Option<i64>,
    /// Of those who answered the question (of those invited, in the funnel), to one decimal place.
    pub percent: Option<f64>,
    pub suppressed: bool,
}

impl Cell {
    fn shown(count: i64, base: i64) -> Self {
        Cell {
            count: Some(count),
            percent: (base > 0).then(|| (count as f64 * 1000.0 / base as f64).round() / 10.0),
            suppressed: false,
        }
    }

    fn hidden() -> Self {
        Cell {
            count: None,
            percent: None,
            suppressed: true,
        }
    }

    fn of(count: i64, base: i64, hide: bool) -> Self {
        if hide {
            Cell::hidden()
        } else {
            Cell::shown(count, base)
        }
    }
}

/// Where a Likert option sits on a diverging stacked bar: disagreement left of centre, agreement
/// right, the middle option (odd scales) on the centre, "Not applicable" apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Negative,
    Neutral,
    Positive,
    Apart,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct OptionLabel {
    pub label: String,
    /// Likert questions only.
    pub side: Option<Side>,
}

/// One row of a question's table: everyone, or one group.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Distribution {
    /// "Everyone", "Staff", "Service user", "Carer" or "Not recorded".
    pub label: String,
    pub answered: Cell,
    pub skipped: Cell,
    /// One per option, in the question's order. For "choose any", percentages of those who answered
    /// can add up to more than 100.
    pub options: Vec<Cell>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ClosedQuestion {
    pub id: i64,
    pub number: usize,
    pub text: String,
    pub kind: String,
    pub options: Vec<OptionLabel>,
    pub overall: Distribution,
    /// Staff, service users and carers (always, even with no responses), then "Not recorded" if any.
    pub by_group: Vec<Distribution>,
}

fn sides(q: &ExportQuestion) -> Vec<OptionLabel> {
    let likert = q.kind == QuestionKind::Likert.as_str();
    let scale = q
        .choices
        .iter()
        .filter(|c| c.as_str() != "Not applicable")
        .count();
    q.choices
        .iter()
        .enumerate()
        .map(|(i, label)| OptionLabel {
            label: label.clone(),
            side: likert.then(|| {
                if label == "Not applicable" {
                    Side::Apart
                } else if scale % 2 == 1 && i == scale / 2 {
                    Side::Neutral
                } else if i < scale / 2 {
                    Side::Negative
                } else {
                    Side::Positive
                }
            }),
        })
        .collect()
}

/// Answered, skipped and per-option counts for one group of responses.
#[derive(Default, Clone)]
struct Tally {
    answered: i64,
    skipped: i64,
    options: Vec<i64>,
}

const GROUPS: [Group; 3] = [Group::Staff, Group::ServiceUser, Group::Carer];

/// Counts every closed question of the newest included version, over the data's responses.
/// `threshold`: in shared outputs, the study's small-count threshold (None shows every count).
pub fn closed_questions(data: &ExportData, threshold: Option<i64>) -> Vec<ClosedQuestion> {
    let closed = |q: &&ExportQuestion| {
        QuestionKind::parse(&q.kind).is_some_and(|k| CLOSED_KINDS.contains(&k))
    };
    let Some(newest) = data.head.versions.last() else {
        return Vec::new();
    };
    newest
        .questions
        .iter()
        .filter(closed)
        .map(|q| {
            // Group label → tally; the three groups always, in order.
            let mut tallies: BTreeMap<usize, (String, Tally)> = GROUPS
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    (
                        i,
                        (
                            g.label().to_string(),
                            Tally {
                                options: vec![0; q.choices.len()],
                                ..Tally::default()
                            },
                        ),
                    )
                })
                .collect();
            for (response, answers) in &data.responses {
                let Some(answer) = answers.iter().find(|a| a.question_id == q.id) else {
                    continue;
                };
                let slot = GROUPS
                    .iter()
                    .position(|g| Group::parse(&response.group) == Some(*g))
                    .unwrap_or(GROUPS.len());
                let (_, tally) = tallies.entry(slot).or_insert_with(|| {
                    (
                        "Not recorded".to_string(),
                        Tally {
                            options: vec![0; q.choices.len()],
                            ..Tally::default()
                        },
                    )
                });
                if answer.skipped {
                    tally.skipped += 1;
                    continue;
                }
                tally.answered += 1;
                for chosen in answer.value.lines() {
                    if let Some(i) = q.choices.iter().position(|c| c == chosen) {
                        tally.options[i] += 1;
                    }
                }
            }
            let groups: Vec<(String, Tally)> = tallies.into_values().collect();
            let overall = groups.iter().fold(
                Tally {
                    options: vec![0; q.choices.len()],
                    ..Tally::default()
                },
                |mut sum, (_, t)| {
                    sum.answered += t.answered;
                    sum.skipped += t.skipped;
                    for (s, n) in sum.options.iter_mut().zip(&t.options) {
                        *s += n;
                    }
                    sum
                },
            );
            // The table to protect: the overall row first, then each group's; answered counts as a
            // column (groups' answered add up to everyone's).
            let table: Vec<Vec<i64>> = std::iter::once(&overall)
                .chain(groups.iter().map(|(_, t)| t))
                .map(|t| {
                    std::iter::once(t.answered)
                        .chain(t.options.iter().copied())
                        .collect()
                })
                .collect();
            let hidden = match threshold {
                Some(t) => suppress(&table[1..], t),
                None => vec![vec![false; q.choices.len() + 1]; groups.len()],
            };
            // Everyone's row on its own: its answered count is the total of its options.
            let overall_hidden: Vec<bool> = match threshold {
                Some(t) => suppress(&table[..1], t).remove(0),
                None => vec![false; q.choices.len() + 1],
            };
            let small = |n: i64| threshold.is_some_and(|t| n > 0 && n < t);
            let row = |label: &str, tally: &Tally, hide: &[bool]| {
                // Nothing of a row whose answered count is hidden can be shown.
                let all_hidden = hide[0];
                Distribution {
                    label: label.to_string(),
                    answered: Cell::of(tally.answered, tally.answered, all_hidden),
                    skipped: Cell::of(
                        tally.skipped,
                        tally.answered + tally.skipped,
                        small(tally.skipped),
                    ),
                    options: tally
                        .options
                        .iter()
                        .zip(&hide[1..])
                        .map(|(&n, &h)| Cell::of(n, tally.answered, h || all_hidden))
                        .collect(),
                }
            };
            ClosedQuestion {
                id: q.id,
                number: q.number,
                text: q.text.clone(),
                kind: q.kind.clone(),
                options: sides(q),
                overall: row("Everyone", &overall, &overall_hidden),
                by_group: groups
                    .iter()
                    .zip(&hidden)
                    .map(|((label, tally), hide)| row(label, tally, hide))
                    .collect(),
            }
        })
        .collect()
}

/// How far one invited person got with the questionnaire.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reached {
    pub opened: bool,
    pub consented: bool,
    pub started: bool,
    pub submitted: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FunnelStep {
    pub label: String,
    /// The percentage is of those invited.
    pub count: Cell,
}

/// Whether someone reached a step.
type Step = fn(&Reached) -> bool;

/// Invited → opened → consented → started → submitted: each later step counts for the earlier ones
/// (someone who submitted also opened, consented and started). In shared outputs, a step from 1 to
/// the threshold less one is hidden, and so is a step that differs from the last one shown by that
/// few people.
pub fn funnel(people: &[Reached], threshold: Option<i64>) -> Vec<FunnelStep> {
    let steps: [(&str, Step); 5] = [
        ("Invited or joined", |_| true),
        ("Opened the link", |r| {
            r.opened || r.consented || r.started || r.submitted
        }),
        ("Consented", |r| r.consented || r.started || r.submitted),
        ("Started answering", |r| r.started || r.submitted),
        ("Sent their answers", |r| r.submitted),
    ];
    let counts: Vec<i64> = steps
        .iter()
        .map(|(_, reached)| people.iter().filter(|p| reached(p)).count() as i64)
        .collect();
    let invited = counts[0];
    // Two steps shown side by side give away how many stopped between them: the difference must be
    // none, or at least the threshold, from the last step shown.
    let hidden: Vec<bool> = match threshold {
        Some(t) => {
            let mut last_shown: Option<i64> = None;
            counts
                .iter()
                .map(|&n| {
                    let small = n > 0 && n < t;
                    let gap = last_shown.is_some_and(|last| last - n > 0 && last - n < t);
                    let hide = small || gap;
                    if !hide {
                        last_shown = Some(n);
                    }
                    hide
                })
                .collect()
        }
        None => vec![false; counts.len()],
    };
    steps
        .iter()
        .zip(counts.iter().zip(hidden))
        .map(|((label, _), (&n, hide))| FunnelStep {
            label: (*label).into(),
            count: Cell::of(n, invited, hide),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::analysis::exports::rules::{
        ExportAnswer, ExportHead, ExportResponse, VersionQuestions,
    };

    fn question(id: i64, kind: QuestionKind, choices: &[&str]) -> ExportQuestion {
        ExportQuestion {
            id,
            number: id as usize,
            text: format!("Q{id}"),
            kind: kind.as_str().into(),
            choices: choices.iter().map(|c| c.to_string()).collect(),
        }
    }

    /// 12 responses: 7 staff, 4 service users, 1 carer.
    fn data() -> ExportData {
        let at = NaiveDate::from_ymd_opt(2026, 11, 26)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap();
        let likert = [
            "Strongly disagree",
            "Disagree",
            "Neither agree nor disagree",
            "Agree",
            "Strongly agree",
            "Not applicable",
        ];
        let groups = [
            ("staff", "Yes", "Agree", "Payment\nTraining"),
            ("staff", "Yes", "Agree", "Payment"),
            ("staff", "Yes", "Strongly agree", "Payment"),
            ("staff", "No", "Disagree", "Training"),
            ("staff", "Yes", "Agree", "Payment"),
            ("staff", "Yes", "Not applicable", "Payment"),
            ("staff", "Yes", "", "Payment"),
            ("service_user", "No", "Agree", "Training"),
            ("service_user", "No", "Agree", "Payment"),
            ("service_user", "Not sure", "", "Payment"),
            ("service_user", "Yes", "Agree", "Training"),
            ("carer", "Yes", "Neither agree nor disagree", "Payment"),
        ];
        let answer = |question_id, value: &str| ExportAnswer {
            question_id,
            value: value.into(),
            skipped: value.is_empty(),
            notes: String::new(),
            status: String::new(),
        };
        ExportData {
            head: ExportHead {
                study_id: 1,
                study_title: "S".into(),
                questionnaire_id: 1,
                questionnaire_title: "Q".into(),
                versions: vec![VersionQuestions {
                    version_id: 1,
                    version_number: 1,
                    published_at: at,
                    questions: vec![
                        question(1, QuestionKind::YesNoNotSure, &["Yes", "No", "Not sure"]),
                        question(2, QuestionKind::Likert, &likert),
                        question(3, QuestionKind::MultipleChoice, &["Payment", "Training"]),
                        question(4, QuestionKind::LongText, &[]),
                    ],
                }],
            },
            responses: groups
                .iter()
                .enumerate()
                .map(|(i, (group, yes, agree, any))| {
                    (
                        ExportResponse {
                            id: i as i64,
                            code: None,
                            group: group.to_string(),
                            service: String::new(),
                            level: String::new(),
                            mode: "online".into(),
                            audience: group.to_string(),
                            version_id: 1,
                            started_at: at,
                            submitted_at: Some(at),
                        },
                        vec![answer(1, yes), answer(2, agree), answer(3, any)],
                    )
                })
                .collect(),
        }
    }

    fn counts(d: &Distribution) -> Vec<Option<i64>> {
        d.options.iter().map(|c| c.count).collect()
    }

    #[test]
    fn counts_and_percentages_overall_and_per_group_by_hand() {
        let questions = closed_questions(&data(), None);
        assert_eq!(questions.len(), 3, "open questions are not counted");
        let yes = &questions[0];
        assert_eq!(counts(&yes.overall), [Some(8), Some(3), Some(1)]);
        assert_eq!(yes.overall.answered.count, Some(12));
        assert_eq!(yes.overall.options[0].percent, Some(66.7));
        let labels: Vec<&str> = yes.by_group.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["Staff", "Service user", "Carer"]);
        assert_eq!(counts(&yes.by_group[0]), [Some(6), Some(1), Some(0)]);
        assert_eq!(counts(&yes.by_group[1]), [Some(1), Some(2), Some(1)]);
        assert_eq!(yes.by_group[1].options[1].percent, Some(50.0));

        let likert = &questions[1];
        assert_eq!(likert.overall.answered.count, Some(10));
        assert_eq!(likert.overall.skipped.count, Some(2));
        assert_eq!(
            counts(&likert.overall),
            [Some(0), Some(1), Some(1), Some(6), Some(1), Some(1)]
        );
        let sides: Vec<Option<Side>> = likert.options.iter().map(|o| o.side).collect();
        use Side::*;
        assert_eq!(
            sides,
            [
                Some(Negative),
                Some(Negative),
                Some(Neutral),
                Some(Positive),
                Some(Positive),
                Some(Apart)
            ]
        );

        // "Choose any": each option over those who answered, adding up past 100.
        let any = &questions[2];
        assert_eq!(counts(&any.overall), [Some(9), Some(4)]);
        assert_eq!(any.overall.options[0].percent, Some(75.0));
        assert_eq!(any.overall.options[1].percent, Some(33.3));
    }

    #[test]
    fn small_counts_and_what_would_reveal_them_are_hidden() {
        // One row: 2 is small; the smallest other non-zero count goes too, so 10 - 7 cannot give it.
        assert_eq!(
            suppress(&[vec![10, 7, 2, 1, 0]], 5),
            [[false, false, true, true, false]]
        );
        assert_eq!(
            suppress(&[vec![10, 7, 2, 0]], 5),
            [[false, true, true, false]]
        );
        // Columns too.
        let hidden = suppress(&[vec![9, 6], vec![8, 7], vec![5, 3]], 5);
        assert!(hidden[2][1]);
        // No row and no column has exactly one hidden count (greedy, so it may hide more than the
        // fewest possible: safe rather than minimal).
        assert!(hidden.iter().all(|r| r.iter().filter(|h| **h).count() != 1));
        for c in 0..2 {
            assert_ne!(hidden.iter().filter(|r| r[c]).count(), 1, "{hidden:?}");
        }
        assert_eq!(suppress(&[vec![0, 5, 6]], 5), [[false, false, false]]);

        let questions = closed_questions(&data(), Some(5));
        let yes = &questions[0];
        // Everyone: 8, 3 (hidden), 1 (hidden); the total, 12, is shown.
        assert_eq!(counts(&yes.overall), [Some(8), None, None]);
        assert_eq!(yes.overall.answered.count, Some(12));
        assert!(yes.overall.options[1].percent.is_none());
        // Everyone, "choose any" aside: 10 answered the Likert question, 6 agreed, and the four
        // answers chosen once are hidden; none is left alone to be worked out.
        let likert = &questions[1];
        assert_eq!(likert.overall.answered.count, Some(10));
        assert_eq!(
            counts(&likert.overall),
            [Some(0), None, None, Some(6), None, None]
        );
        let mut lone = data();
        lone.responses.truncate(7);
        let yes = &closed_questions(&lone, Some(5))[0];
        // Staff only: 6 yes and 1 no; the 1 would be 7 minus 6, so the 6 goes too.
        assert_eq!(counts(&yes.overall), [None, None, Some(0)]);
        assert_eq!(yes.overall.answered.count, Some(7));
        let questions = closed_questions(&data(), Some(5));
        let yes = &questions[0];
        // Carers: 1 answered, so nothing of the row is shown.
        let carers = &yes.by_group[2];
        assert_eq!(carers.answered.count, None);
        assert!(carers.options.iter().all(|c| c.suppressed));
        // Service users: 4 answered: nothing shown.
        assert_eq!(yes.by_group[1].answered.count, None);
        // Staff: 1 "no" hidden, and the 6 "yes" too, so 7 answered minus 6 cannot give it away.
        assert_eq!(yes.by_group[0].options[1].count, None);
        let shown_staff: Vec<bool> = yes.by_group[0]
            .options
            .iter()
            .map(|c| c.count.is_some())
            .collect();
        assert_eq!(
            shown_staff.iter().filter(|s| !**s).count(),
            2,
            "{shown_staff:?}"
        );
    }

    #[test]
    fn the_funnel_counts_later_steps_for_earlier_ones() {
        let mut people = vec![Reached::default(); 10];
        for p in people.iter_mut().take(8) {
            p.opened = true;
        }
        for p in people.iter_mut().take(7) {
            p.consented = true;
            p.started = true;
        }
        for p in people.iter_mut().take(6) {
            p.submitted = true;
        }
        // Someone who sent answers is counted as having opened, even if opening was not recorded.
        people[9] = Reached {
            submitted: true,
            ..Reached::default()
        };
        let steps = funnel(&people, None);
        let n: Vec<Option<i64>> = steps.iter().map(|s| s.count.count).collect();
        assert_eq!(n, [Some(10), Some(9), Some(8), Some(8), Some(7)]);
        assert_eq!(steps[4].count.percent, Some(70.0));
        let shared = funnel(&people[..4], Some(5));
        assert!(shared.iter().all(|s| s.count.suppressed));
        let shared = funnel(&people, Some(5));
        assert_eq!(shared[0].count.count, Some(10));
        // 10 → 9 → 8 → 8 → 7: each step shown beside 10 would give away the few who stopped.
        assert!(shared[1..].iter().all(|s| s.count.suppressed));
        let mut more = vec![Reached::default(); 20];
        for p in more.iter_mut().take(12) {
            p.submitted = true;
        }
        let n: Vec<Option<i64>> = funnel(&more, Some(5))
            .iter()
            .map(|s| s.count.count)
            .collect();
        assert_eq!(n, [Some(20), Some(12), Some(12), Some(12), Some(12)]);
    }
}
