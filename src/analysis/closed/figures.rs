//! The closed-questions page's charts, drawn from the same counts as its tables (so a count hidden
//! in the table is hidden in the chart): horizontal bars of everyone's answers to a choice, yes/no
//! or 0–10 question, and diverging stacked bars per group for a Likert question. Each figure carries
//! the question's full table (everyone and each group; answered, every option, skipped), which the
//! page shows in place of a second one. No storage or HTTP here.

use crate::analysis::charts::{self, BarChart, DataTable, Figure, Likert, LikertGroup};

use super::rules::{Cell, ClosedQuestion, Distribution, Side};
use crate::studies::questionnaires::rules::QuestionKind;

fn count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// A count as the chart library takes it: every withheld count is `Hidden` (some are not small, so
/// "fewer than N" would be untrue of them).
fn chart_cell(cell: &Cell) -> charts::Cell {
    match cell.count {
        Some(n) if !cell.suppressed => charts::Cell::Count(count(n)),
        _ => charts::Cell::Hidden,
    }
}

/// A table cell as the page has always shown it: "Hidden", or the count with its percentage.
fn cell_text(cell: &Cell) -> String {
    match (cell.suppressed, cell.count, cell.percent) {
        (true, _, _) | (_, None, _) => "Hidden".into(),
        (false, Some(n), Some(p)) => format!("{n} ({p}%)"),
        (false, Some(n), None) => n.to_string(),
    }
}

fn row(d: &Distribution) -> Vec<String> {
    let plain = |c: &Cell| match (c.suppressed, c.count) {
        (false, Some(n)) => n.to_string(),
        _ => "Hidden".into(),
    };
    let mut row = vec![d.label.clone(), plain(&d.answered)];
    row.extend(d.options.iter().map(cell_text));
    row.push(plain(&d.skipped));
    row
}

/// The question's whole table: everyone, then each group.
fn table(q: &ClosedQuestion, title: &str) -> DataTable {
    let mut columns = vec!["Group".to_string(), "Answered".to_string()];
    columns.extend(q.options.iter().map(|o| o.label.clone()));
    columns.push("Skipped".into());
    DataTable {
        caption: format!("{title}: answers by group"),
        columns,
        rows: std::iter::once(&q.overall)
            .chain(&q.by_group)
            .map(row)
            .collect(),
    }
}

/// The figure for one closed question: `threshold` is the study's small-count threshold (what
/// hatched outlines of hidden counts are drawn as long as).
pub fn figure(q: &ClosedQuestion, threshold: i64) -> Figure {
    let id = format!("closed-{}", q.id);
    let title = format!("Question {}: {}", q.number, q.text);
    let threshold = count(threshold).max(1);
    let likert = QuestionKind::parse(&q.kind) == Some(QuestionKind::Likert);
    let mut figure = if likert {
        // "Not applicable" sits apart: left out of the bars (percentages stay of all who answered).
        let drawn: Vec<usize> = (0..q.options.len())
            .filter(|&i| q.options[i].side != Some(Side::Apart))
            .collect();
        let negative = drawn
            .iter()
            .filter(|&&i| q.options[i].side == Some(Side::Negative))
            .count();
        let neutral = drawn
            .iter()
            .any(|&i| q.options[i].side == Some(Side::Neutral));
        let group = |d: &Distribution| LikertGroup {
            label: d.label.clone(),
            counts: drawn.iter().map(|&i| chart_cell(&d.options[i])).collect(),
            total: match chart_cell(&d.answered) {
                charts::Cell::Count(n) => Some(n),
                _ => None,
            },
        };
        let apart = if drawn.len() < q.options.len() {
            " \u{201c}Not applicable\u{201d} answers are counted in the table, not drawn."
        } else {
            ""
        };
        charts::diverging_bars(&Likert {
            id,
            title: title.clone(),
            description: format!(
                "Diverging bars for staff, service users, carers and everyone: disagreement left of \
                 the centre line, agreement right of it, as percentages of those in each group who \
                 answered. Hidden counts are left out.{apart}"
            ),
            categories: drawn.iter().map(|&i| q.options[i].label.clone()).collect(),
            negative,
            neutral,
            groups: q
                .by_group
                .iter()
                .chain(std::iter::once(&q.overall))
                .map(group)
                .collect(),
            threshold,
        })
    } else {
        let base = match chart_cell(&q.overall.answered) {
            charts::Cell::Count(n) => Some(n),
            _ => None,
        };
        let any = QuestionKind::parse(&q.kind) == Some(QuestionKind::MultipleChoice);
        charts::bar_chart(&BarChart {
            id,
            title: title.clone(),
            description: format!(
                "Bars: how many people chose each answer{}, everyone together, with the percentage \
                 of those who answered{}. Hidden counts are drawn as hatched outlines.",
                if any { " (they could choose more than one)" } else { "" },
                base.map_or_else(String::new, |n| format!(" ({n})")),
            ),
            bars: q
                .options
                .iter()
                .zip(&q.overall.options)
                .map(|(o, c)| (o.label.clone(), chart_cell(c)))
                .collect(),
            base,
            threshold,
        })
    };
    figure.table = table(q, &title);
    figure
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::closed::rules::OptionLabel;

    fn cell(count: Option<i64>, percent: Option<f64>) -> Cell {
        Cell {
            count,
            percent,
            suppressed: count.is_none(),
        }
    }

    fn dist(label: &str, answered: Option<i64>, options: &[Option<i64>]) -> Distribution {
        Distribution {
            label: label.into(),
            answered: cell(answered, None),
            skipped: cell(Some(0), None),
            options: options
                .iter()
                .map(|&n| {
                    let percent = n
                        .zip(answered)
                        .map(|(n, a)| (n as f64 * 1000.0 / a as f64).round() / 10.0);
                    cell(n, percent)
                })
                .collect(),
        }
    }

    fn question(kind: QuestionKind, options: &[(&str, Option<Side>)]) -> ClosedQuestion {
        ClosedQuestion {
            id: 7,
            number: 3,
            text: "Was it <easy>?".into(),
            kind: kind.as_str().into(),
            options: options
                .iter()
                .map(|(l, s)| OptionLabel {
                    label: l.to_string(),
                    side: *s,
                })
                .collect(),
            overall: dist("Everyone", Some(12), &[Some(8), None, None]),
            by_group: vec![
                dist("Staff", Some(7), &[Some(6), None, None]),
                dist("Service user", None, &[None, None, None]),
                dist("Carer", None, &[None, None, None]),
            ],
        }
    }

    #[test]
    fn choice_questions_get_bars_of_everyone_with_hidden_counts_as_hidden() {
        let q = question(
            QuestionKind::YesNoNotSure,
            &[("Yes", None), ("No", None), ("Not sure", None)],
        );
        let f = figure(&q, 5);
        assert_eq!(f.id, "closed-7");
        assert!(f.svg.contains("role=\"img\"") && f.svg.contains("<title id=\"closed-7-title\">"));
        assert!(f.svg.contains("Was it &lt;easy&gt;?"));
        assert!(f.svg.contains(">8 (67%)</text>"), "{}", f.svg);
        assert!(f.svg.contains(">hidden</text>") && !f.svg.contains("fewer than"));
        // The page's table: everyone, then the groups; answered, each option, skipped.
        assert_eq!(
            f.table.columns,
            ["Group", "Answered", "Yes", "No", "Not sure", "Skipped"]
        );
        assert_eq!(f.table.rows.len(), 4);
        assert_eq!(
            f.table.rows[0][..4],
            ["Everyone", "12", "8 (66.7%)", "Hidden"]
        );
        assert_eq!(f.table.rows[2][1], "Hidden");
    }

    #[test]
    fn likert_questions_get_diverging_bars_per_group_then_everyone() {
        let mut q = question(
            QuestionKind::Likert,
            &[
                ("Disagree", Some(Side::Negative)),
                ("Agree", Some(Side::Positive)),
                ("Not applicable", Some(Side::Apart)),
            ],
        );
        q.overall = dist("Everyone", Some(20), &[Some(5), Some(10), Some(5)]);
        let f = figure(&q, 5);
        assert!(f.svg.contains("role=\"img\""));
        // Staff, service users, carers, everyone; "Not applicable" stays out of the bars.
        let staff = f.svg.find(">Staff<").unwrap();
        let everyone = f.svg.find(">Everyone<").unwrap();
        assert!(staff < everyone);
        assert!(f.svg.contains("Everyone, Agree: 50%"), "{}", f.svg);
        assert!(!f.svg.contains(">Not applicable<"));
        assert!(f.description.contains("Not applicable"));
        assert_eq!(f.table.columns.len(), 6, "the table keeps every option");
    }
}
