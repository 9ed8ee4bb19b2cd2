//! Charts drawn on the server as SVG, with no JavaScript and no storage: a run chart (a monthly
//! percentage against a target, with its median), horizontal bars (counts per category of a closed
//! question) and diverging stacked bars (Likert answers per group).
//!
//! Every chart comes back as a [`Figure`]: a title, a description, the SVG and the same numbers as a
//! [`DataTable`] to show beside it (`templates/partials/figure.html` renders all three). The SVG
//! names itself (`role="img"`, `aria-labelledby` its own `<title>` and `<desc>`), scales to its
//! container (a viewBox and `width="100%"`), uses colours with at least 3:1 contrast against white,
//! and never relies on colour alone: lines are solid, dashed or dotted and labelled, bars carry
//! their numbers, Likert segments have patterns and a legend in the same order as the bars. Every
//! piece of text is XML-escaped.
//!
//! Hand-written rather than drawn with plotters: its SVG backend writes fixed pixel sizes and no
//! title, description, roles or patterns, which are most of what is needed here.
//!
//! Small counts: callers suppress them before charting (a [`Cell::Suppressed`]); the table says
//! "fewer than N" and the chart shows no bar for it (a hatched outline in bar charts, a gap in
//! Likert bars), so nothing small can be read off the picture either. Callers that also withhold
//! counts which would give a small one away (closed questions) mark every withheld count
//! [`Cell::Hidden`] instead: drawn the same, it reads "hidden", as "fewer than N" would be untrue of
//! some of them.

use std::fmt::Write;

use serde::Serialize;
use utoipa::ToSchema;

/// A chart ready for a page: render it with `templates/partials/figure.html`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figure {
    /// Unique on the page: the SVG's element ids start with it.
    pub id: String,
    pub title: String,
    pub description: String,
    /// A complete `<svg>` element, safe to put in a page as it is.
    pub svg: String,
    pub table: DataTable,
}

/// The figure's numbers as a table. The first column names the row (a row header).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DataTable {
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// One count in a bar or Likert chart: a number, or suppressed because it is small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    Count(u32),
    /// Below the caller's threshold: shown as "fewer than N", never drawn to scale.
    Suppressed,
    /// Withheld, small or not (it would give a small count away): drawn like `Suppressed`, shown
    /// as "hidden".
    Hidden,
}

impl From<Option<u32>> for Cell {
    /// `None` is a suppressed count.
    fn from(value: Option<u32>) -> Self {
        value.map_or(Cell::Suppressed, Cell::Count)
    }
}

impl Cell {
    fn count(self) -> Option<u32> {
        match self {
            Cell::Count(n) => Some(n),
            Cell::Suppressed | Cell::Hidden => None,
        }
    }
}

/// Drawing colours, each at least 3:1 against white (checked by a test).
const BLUE: &str = "#005eb8";
const DARK_BLUE: &str = "#003087";
const NAVY: &str = "#002060";
const RED: &str = "#d5281b";
const DARK_RED: &str = "#8a1538";
const MAROON: &str = "#5c0a23";
const GREY: &str = "#425563";
const TEXT: &str = "#212b32";
const GRID: &str = "#aeb7bd";

const WIDTH: f64 = 480.0;
const FONT: &str = "font-family=\"Arial, sans-serif\" font-size=\"13\"";

/// XML-escapes text for an element's content or an attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Element ids made from the figure's id: letters, digits, `-` and `_` only.
fn safe_id(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.starts_with(|c: char| c.is_ascii_alphabetic()) {
        cleaned
    } else {
        format!("figure-{cleaned}")
    }
}

/// A percentage as people read it: whole numbers, halves rounded up.
pub fn percent_text(value: f64) -> String {
    format!("{}%", value.round() as i64)
}

fn number(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{}", rounded as i64)
    } else {
        format!("{rounded:.1}")
    }
}

/// Opens the SVG: viewBox, full width, its role and names, then `defs`.
fn open_svg(id: &str, height: f64, title: &str, description: &str, defs: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart__svg\" viewBox=\"0 0 {w} {h}\" \
         width=\"100%\" preserveAspectRatio=\"xMinYMin meet\" role=\"img\" \
         aria-labelledby=\"{id}-title {id}-desc\" {FONT}>\
         <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{desc}</desc>\
         <defs>{defs}</defs><rect width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>",
        w = number(WIDTH),
        h = number(height),
        title = escape(title),
        desc = escape(description),
    )
}

/// Splits a label into lines of at most `width` characters, at spaces where it can.
fn wrap(label: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in label.split_whitespace() {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        if line.is_empty() {
            line = word;
        } else if line.chars().count() + 1 + word.chars().count() <= width {
            line.push(' ');
            line.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut line, word));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Text over several lines, each a `tspan`, the block centred on `y`.
fn text_lines(x: f64, y: f64, anchor: &str, lines: &[String]) -> String {
    let line_height = 15.0;
    let first = y - (lines.len() as f64 - 1.0) * line_height / 2.0 + 4.0;
    let mut out = format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\" fill=\"{TEXT}\">",
        number(x),
        number(first)
    );
    for (i, line) in lines.iter().enumerate() {
        let dy = if i == 0 { 0.0 } else { line_height };
        let _ = write!(
            out,
            "<tspan x=\"{}\" dy=\"{}\">{}</tspan>",
            number(x),
            number(dy),
            escape(line)
        );
    }
    out.push_str("</text>");
    out
}

/// The median of the values (the centre line of a run chart).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 0 {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

/// A run chart of a monthly percentage (0 to 100).
///
/// `points` are the months in order: a label ("Nov 2026") and the percentage, or `None` for a
/// month with nothing to measure (no active projects): the line breaks there and the table says
/// "no active projects". `target` is drawn as a dashed line labelled "Target 80%"; the median of the
/// months measured as a dotted line labelled "Median …", as run charts have. The table has one row
/// per month (callers with more to say, such as counts, may replace `table`).
pub fn run_chart(
    id: &str,
    points: &[(String, Option<f64>)],
    target: f64,
    title: &str,
    description: &str,
) -> Figure {
    let id = safe_id(id);
    let (left, right, top, bottom) = (44.0, 16.0, 24.0, 64.0);
    let height = 300.0;
    let plot_w = WIDTH - left - right;
    let plot_h = height - top - bottom;
    let y_of = |value: f64| top + plot_h * (1.0 - value.clamp(0.0, 100.0) / 100.0);
    let step = if points.len() > 1 {
        plot_w / (points.len() as f64 - 1.0)
    } else {
        0.0
    };
    let x_of = |i: usize| {
        if points.len() > 1 {
            left + step * i as f64
        } else {
            left + plot_w / 2.0
        }
    };

    let mut svg = open_svg(&id, height, title, description, "");
    // The y axis: gridlines every 20%.
    for tick in (0..=100).step_by(20) {
        let y = y_of(f64::from(tick));
        let _ = write!(
            svg,
            "<line x1=\"{l}\" x2=\"{r}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{GRID}\" stroke-width=\"1\"/>\
             <text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\" fill=\"{TEXT}\">{tick}%</text>",
            l = number(left),
            r = number(left + plot_w),
            y = number(y),
            tx = number(left - 6.0),
            ty = number(y + 4.0),
        );
    }
    // Month labels, thinned so they do not overlap: at most about 12.
    let every = points.len().div_ceil(12).max(1);
    for (i, (label, _)) in points.iter().enumerate() {
        if i % every != 0 && i + 1 != points.len() {
            continue;
        }
        let (x, y) = (x_of(i), top + plot_h + 14.0);
        let _ = write!(
            svg,
            "<text x=\"{x}\" y=\"{y}\" text-anchor=\"end\" fill=\"{TEXT}\" \
             transform=\"rotate(-40 {x} {y})\">{}</text>",
            escape(label),
            x = number(x),
            y = number(y),
        );
    }
    // Target: dashed, labelled.
    let ty = y_of(target);
    let _ = write!(
        svg,
        "<g class=\"chart__target\"><line x1=\"{l}\" x2=\"{r}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{RED}\" \
         stroke-width=\"2\" stroke-dasharray=\"8 5\"/><text x=\"{r}\" y=\"{ly}\" text-anchor=\"end\" \
         fill=\"{TEXT}\">Target {}</text></g>",
        percent_text(target),
        l = number(left),
        r = number(left + plot_w),
        y = number(ty),
        ly = number(ty - 5.0),
    );
    // Median of the months measured: dotted, labelled.
    let measured: Vec<f64> = points.iter().filter_map(|(_, v)| *v).collect();
    if let Some(m) = median(&measured) {
        let my = y_of(m);
        let label_y = if (my - ty).abs() < 16.0 {
            my + 15.0
        } else {
            my - 5.0
        };
        let _ = write!(
            svg,
            "<g class=\"chart__median\"><line x1=\"{l}\" x2=\"{r}\" y1=\"{y}\" y2=\"{y}\" stroke=\"{GREY}\" \
             stroke-width=\"2\" stroke-dasharray=\"2 4\"/><text x=\"{lx}\" y=\"{ly}\" fill=\"{TEXT}\">Median {}</text></g>",
            percent_text(m),
            l = number(left),
            r = number(left + plot_w),
            y = number(my),
            lx = number(left + 4.0),
            ly = number(label_y),
        );
    }
    // The line, broken where a month has no value, then a dot per month measured.
    let mut path = String::new();
    let mut pen_down = false;
    for (i, (_, value)) in points.iter().enumerate() {
        match value {
            Some(v) => {
                let _ = write!(
                    path,
                    "{}{} {} ",
                    if pen_down { "L" } else { "M" },
                    number(x_of(i)),
                    number(y_of(*v))
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    if !path.is_empty() {
        let _ = write!(
            svg,
            "<path d=\"{}\" fill=\"none\" stroke=\"{BLUE}\" stroke-width=\"2.5\"/>",
            path.trim_end()
        );
    }
    for (i, (label, value)) in points.iter().enumerate() {
        if let Some(v) = value {
            let _ = write!(
                svg,
                "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{BLUE}\" stroke=\"#ffffff\" stroke-width=\"1.5\">\
                 <title>{}: {}</title></circle>",
                number(x_of(i)),
                number(y_of(*v)),
                escape(label),
                percent_text(*v)
            );
        }
    }
    svg.push_str("</svg>");

    Figure {
        table: DataTable {
            caption: title.to_string(),
            columns: vec!["Month".into(), "Percentage".into()],
            rows: points
                .iter()
                .map(|(label, value)| {
                    vec![
                        label.clone(),
                        value.map_or_else(|| "no active projects".to_string(), percent_text),
                    ]
                })
                .collect(),
        },
        id,
        title: title.to_string(),
        description: description.to_string(),
        svg,
    }
}

/// What a horizontal bar chart shows: one bar per category of a closed question.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Unique on the page (element ids start with it).
    pub id: String,
    pub title: String,
    pub description: String,
    /// The categories in the order to show them, each with its count (or suppressed).
    pub bars: Vec<(String, Cell)>,
    /// What percentages are of (usually the number who answered); `None` shows counts only.
    pub base: Option<u32>,
    /// The suppression threshold the caller used: a suppressed cell reads "fewer than {threshold}".
    pub threshold: u32,
}

fn count_text(cell: Cell, base: Option<u32>, threshold: u32) -> String {
    match (cell, base) {
        (Cell::Suppressed, _) => format!("fewer than {threshold}"),
        (Cell::Hidden, _) => "hidden".into(),
        (Cell::Count(n), Some(base)) if base > 0 => {
            format!(
                "{n} ({})",
                percent_text(f64::from(n) * 100.0 / f64::from(base))
            )
        }
        (Cell::Count(n), _) => n.to_string(),
    }
}

fn hatch_pattern(id: &str, name: &str, background: &str, stroke: &str, opacity: f64) -> String {
    format!(
        "<pattern id=\"{id}-{name}\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\" \
         patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"{background}\"/>\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"{stroke}\" stroke-opacity=\"{opacity}\" \
         stroke-width=\"2\"/></pattern>"
    )
}

/// Horizontal bars: one per category, labelled with its count (and percentage of `base`).
/// Suppressed categories get a hatched outline as long as the threshold and the words "fewer than N".
pub fn bar_chart(chart: &BarChart) -> Figure {
    let id = safe_id(&chart.id);
    let (label_w, value_w, top, row_gap) = (150.0, 86.0, 12.0, 8.0);
    let plot_left = label_w + 8.0;
    let plot_w = WIDTH - plot_left - value_w;
    let wrapped: Vec<Vec<String>> = chart.bars.iter().map(|(l, _)| wrap(l, 22)).collect();
    let row_h = |lines: usize| (lines as f64 * 15.0).max(22.0) + row_gap;
    let height = top * 2.0 + wrapped.iter().map(|l| row_h(l.len())).sum::<f64>();
    let max = chart
        .bars
        .iter()
        .filter_map(|(_, c)| c.count())
        .chain(std::iter::once(chart.threshold))
        .max()
        .unwrap_or(1)
        .max(1);
    let scale = plot_w / f64::from(max);

    let defs = hatch_pattern(&id, "suppressed", "#ffffff", GREY, 1.0);
    let mut svg = open_svg(&id, height, &chart.title, &chart.description, &defs);
    let mut y = top;
    for ((_, cell), lines) in chart.bars.iter().zip(&wrapped) {
        let h = row_h(lines.len());
        let bar_h = h - row_gap;
        let centre = y + bar_h / 2.0;
        svg.push_str(&text_lines(label_w, centre, "end", lines));
        let (w, fill, stroke) = match cell {
            Cell::Count(n) => (f64::from(*n) * scale, BLUE.to_string(), "none"),
            Cell::Suppressed | Cell::Hidden => (
                f64::from(chart.threshold) * scale,
                format!("url(#{id}-suppressed)"),
                GREY,
            ),
        };
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{fill}\" stroke=\"{stroke}\"/>\
             <text x=\"{tx}\" y=\"{ty}\" fill=\"{TEXT}\">{}</text>",
            escape(&count_text(*cell, chart.base, chart.threshold)),
            x = number(plot_left),
            y = number(y),
            w = number(w),
            h = number(bar_h),
            tx = number(plot_left + w + 6.0),
            ty = number(centre + 4.0),
        );
        y += h;
    }
    // The baseline the bars grow from.
    let _ = write!(
        svg,
        "<line x1=\"{x}\" x2=\"{x}\" y1=\"{t}\" y2=\"{b}\" stroke=\"{TEXT}\" stroke-width=\"1\"/></svg>",
        x = number(plot_left),
        t = number(top - 4.0),
        b = number(height - top + 4.0 - row_gap),
    );

    let mut columns = vec!["Answer".to_string(), "Count".to_string()];
    if chart.base.is_some() {
        columns.push("Percentage".into());
    }
    let rows = chart
        .bars
        .iter()
        .map(|(label, cell)| {
            let mut row = vec![label.clone()];
            match cell {
                Cell::Count(n) => {
                    row.push(n.to_string());
                    if let Some(base) = chart.base {
                        row.push(if base > 0 {
                            percent_text(f64::from(*n) * 100.0 / f64::from(base))
                        } else {
                            "–".into()
                        });
                    }
                }
                Cell::Suppressed | Cell::Hidden => {
                    row.push(count_text(*cell, None, chart.threshold));
                    if chart.base.is_some() {
                        row.push("suppressed".into());
                    }
                }
            }
            row
        })
        .collect();
    Figure {
        id,
        title: chart.title.clone(),
        description: chart.description.clone(),
        svg,
        table: DataTable {
            caption: chart.title.clone(),
            columns,
            rows,
        },
    }
}

/// What a diverging stacked bar chart shows: a Likert question's answers, one bar per group.
#[derive(Debug, Clone)]
pub struct Likert {
    /// Unique on the page (element ids start with it).
    pub id: String,
    pub title: String,
    pub description: String,
    /// The answer categories from most negative to most positive ("Strongly disagree" … "Strongly
    /// agree"): the first `negative` are drawn left of the centre line, then, if `neutral`, one
    /// neutral category split across it, then the positive ones to the right.
    pub categories: Vec<String>,
    pub negative: usize,
    pub neutral: bool,
    /// One bar per group (staff, service users, carers …).
    pub groups: Vec<LikertGroup>,
    /// The suppression threshold the caller used: a suppressed cell reads "fewer than {threshold}".
    pub threshold: u32,
}

#[derive(Debug, Clone)]
pub struct LikertGroup {
    pub label: String,
    /// One cell per category, in the categories' order.
    pub counts: Vec<Cell>,
    /// Everyone in the group who answered, which percentages are of; `None` uses the sum of the
    /// counts not suppressed.
    pub total: Option<u32>,
}

impl LikertGroup {
    fn base(&self) -> u32 {
        self.total
            .unwrap_or_else(|| self.counts.iter().filter_map(|c| c.count()).sum())
    }
}

/// Fill colours for Likert categories: negatives red (darker further from the centre), neutral
/// grey, positives blue (darker further out).
fn likert_colours(negative: usize, neutral: bool, positive: usize) -> Vec<&'static str> {
    let reds = [RED, DARK_RED, MAROON];
    let blues = [BLUE, DARK_BLUE, NAVY];
    let mut colours: Vec<&str> = (0..negative)
        .rev()
        .map(|i| reds[i.min(reds.len() - 1)])
        .collect();
    if neutral {
        colours.push(GREY);
    }
    colours.extend((0..positive).map(|i| blues[i.min(blues.len() - 1)]));
    colours
}

/// Diverging stacked bars: per group, the negative answers left of a centre line, the neutral
/// answer split across it, the positive answers right of it, each segment labelled with its
/// percentage when it is wide enough. Negative segments are hatched, neutral dotted, positive solid;
/// a legend above lists the categories in the bars' order. Suppressed cells are left out of the
/// bars (their share is unknown) and read "fewer than N" in the table.
pub fn diverging_bars(chart: &Likert) -> Figure {
    let id = safe_id(&chart.id);
    let categories = chart.categories.len();
    let negative = chart.negative.min(categories);
    let neutral = chart.neutral && negative < categories;
    let positive = categories - negative - usize::from(neutral);
    let colours = likert_colours(negative, neutral, positive);
    let kind = |i: usize| {
        if i < negative {
            "negative"
        } else if neutral && i == negative {
            "neutral"
        } else {
            "positive"
        }
    };

    // Percentages per group and category (None when suppressed).
    let shares: Vec<Vec<Option<f64>>> = chart
        .groups
        .iter()
        .map(|g| {
            let base = g.base();
            (0..categories)
                .map(|i| {
                    let cell = g.counts.get(i).copied().unwrap_or(Cell::Count(0));
                    cell.count().map(|n| {
                        if base == 0 {
                            0.0
                        } else {
                            f64::from(n) * 100.0 / f64::from(base)
                        }
                    })
                })
                .collect()
        })
        .collect();
    let side = |row: &[Option<f64>], range: std::ops::Range<usize>| -> f64 {
        row[range].iter().flatten().sum::<f64>()
    };
    let half_neutral = |row: &[Option<f64>]| {
        if neutral {
            row[negative].unwrap_or(0.0) / 2.0
        } else {
            0.0
        }
    };
    let extent = shares
        .iter()
        .map(|row| {
            let h = half_neutral(row);
            (side(row, 0..negative) + h).max(side(row, categories - positive..categories) + h)
        })
        .fold(10.0_f64, f64::max);
    let extent = ((extent / 10.0).ceil() * 10.0).min(100.0);

    // Legend rows: swatches with names, wrapped to the width.
    let mut defs = String::new();
    for (i, colour) in colours.iter().enumerate() {
        match kind(i) {
            "negative" => defs.push_str(&hatch_pattern(
                &id,
                &format!("c{i}"),
                colour,
                "#ffffff",
                0.45,
            )),
            "neutral" => {
                let _ = write!(
                    defs,
                    "<pattern id=\"{id}-c{i}\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\">\
                     <rect width=\"6\" height=\"6\" fill=\"{colour}\"/>\
                     <circle cx=\"3\" cy=\"3\" r=\"1.2\" fill=\"#ffffff\" fill-opacity=\"0.6\"/></pattern>"
                );
            }
            _ => {}
        }
    }
    let fill = |i: usize| {
        if kind(i) == "positive" {
            colours[i].to_string()
        } else {
            format!("url(#{id}-c{i})")
        }
    };
    let mut legend = String::new();
    let (mut lx, mut ly) = (8.0, 18.0);
    for (i, name) in chart.categories.iter().enumerate() {
        let w = 22.0 + name.chars().count() as f64 * 7.0 + 14.0;
        if lx + w > WIDTH && lx > 8.0 {
            lx = 8.0;
            ly += 22.0;
        }
        let _ = write!(
            legend,
            "<rect x=\"{x}\" y=\"{y}\" width=\"16\" height=\"16\" fill=\"{}\" stroke=\"{TEXT}\" stroke-width=\"0.5\"/>\
             <text x=\"{tx}\" y=\"{ty}\" fill=\"{TEXT}\">{}</text>",
            fill(i),
            escape(name),
            x = number(lx),
            y = number(ly - 12.0),
            tx = number(lx + 22.0),
            ty = number(ly + 1.0),
        );
        lx += w;
    }

    let (label_w, right) = (130.0, 12.0);
    let plot_left = label_w + 8.0;
    let plot_w = WIDTH - plot_left - right;
    let centre = plot_left + plot_w / 2.0;
    let scale = plot_w / 2.0 / extent;
    let top = ly + 20.0;
    let wrapped: Vec<Vec<String>> = chart.groups.iter().map(|g| wrap(&g.label, 19)).collect();
    let row_h = |lines: usize| (lines as f64 * 15.0).max(26.0) + 10.0;
    let axis_h = 30.0;
    let height = top + wrapped.iter().map(|l| row_h(l.len())).sum::<f64>() + axis_h;

    let mut svg = open_svg(&id, height, &chart.title, &chart.description, &defs);
    let _ = write!(svg, "<g class=\"chart__legend\">{legend}</g>");
    let mut y = top;
    for ((row, lines), group) in shares.iter().zip(&wrapped).zip(&chart.groups) {
        let bar_h = row_h(lines.len()) - 10.0;
        let mid = y + bar_h / 2.0;
        svg.push_str(&text_lines(label_w, mid, "end", lines));
        // Left side, from the centre outwards: half the neutral, then negatives nearest first.
        let mut x = centre - half_neutral(row) * scale;
        let mut segments: Vec<(usize, f64, f64)> = Vec::new();
        for i in (0..negative).rev() {
            if let Some(p) = row[i] {
                x -= p * scale;
                segments.push((i, x, p));
            }
        }
        if neutral {
            if let Some(p) = row[negative] {
                segments.push((negative, centre - p * scale / 2.0, p));
            }
        }
        let mut x = centre + half_neutral(row) * scale;
        for (i, share) in row.iter().enumerate().skip(categories - positive) {
            if let Some(p) = share {
                segments.push((i, x, *p));
                x += p * scale;
            }
        }
        for (i, x, p) in segments {
            let w = p * scale;
            let _ = write!(
                svg,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"1\">\
                 <title>{}, {}: {}</title></rect>",
                fill(i),
                escape(&group.label),
                escape(&chart.categories[i]),
                percent_text(p),
                x = number(x),
                y = number(y),
                w = number(w),
                h = number(bar_h),
            );
            if w >= 30.0 {
                let _ = write!(
                    svg,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#ffffff\" font-weight=\"bold\">{}</text>",
                    number(x + w / 2.0),
                    number(mid + 4.0),
                    percent_text(p)
                );
            }
        }
        y += row_h(lines.len());
    }
    // Centre line and a percentage axis on both sides.
    let _ = write!(
        svg,
        "<line x1=\"{c}\" x2=\"{c}\" y1=\"{t}\" y2=\"{b}\" stroke=\"{TEXT}\" stroke-width=\"1.5\"/>",
        c = number(centre),
        t = number(top - 6.0),
        b = number(y),
    );
    let step = if extent > 50.0 { 25.0 } else { 10.0 };
    let mut tick = 0.0;
    while tick <= extent + 0.01 {
        for sign in [-1.0, 1.0] {
            if tick == 0.0 && sign < 0.0 {
                continue;
            }
            let x = centre + sign * tick * scale;
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{TEXT}\">{}</text>",
                number(x),
                number(y + 16.0),
                percent_text(tick)
            );
        }
        tick += step;
    }
    svg.push_str("</svg>");

    let mut columns = vec!["Group".to_string()];
    columns.extend(chart.categories.iter().cloned());
    columns.push("Answered".into());
    let rows = chart
        .groups
        .iter()
        .map(|g| {
            let base = g.base();
            let mut row = vec![g.label.clone()];
            for i in 0..categories {
                row.push(match g.counts.get(i).copied().unwrap_or(Cell::Count(0)) {
                    cell @ (Cell::Suppressed | Cell::Hidden) => {
                        count_text(cell, None, chart.threshold)
                    }
                    cell => count_text(cell, Some(base), chart.threshold),
                });
            }
            row.push(base.to_string());
            row
        })
        .collect();
    Figure {
        id,
        title: chart.title.clone(),
        description: chart.description.clone(),
        svg,
        table: DataTable {
            caption: chart.title.clone(),
            columns,
            rows,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::events::Event;
    use quick_xml::Reader;

    /// Parses the SVG to the end (it must be well-formed XML) and returns every element's name with
    /// its attributes, and all the text, unescaped.
    /// An element's name and its attributes.
    type Element = (String, Vec<(String, String)>);

    fn parse(svg: &str) -> (Vec<Element>, Vec<String>) {
        let mut reader = Reader::from_str(svg);
        reader.config_mut().check_end_names = true;
        let (mut elements, mut texts) = (Vec::new(), Vec::new());
        // Text arrives in pieces: plain runs and entity references.
        let mut text = String::new();
        loop {
            let event = reader.read_event().expect("well-formed SVG");
            if !matches!(event, Event::Text(_) | Event::GeneralRef(_)) && !text.is_empty() {
                texts.push(std::mem::take(&mut text));
            }
            match event {
                Event::Start(e) | Event::Empty(e) => {
                    let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                    let attributes = e
                        .attributes()
                        .map(|a| {
                            let a = a.expect("well-formed attribute");
                            (
                                String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                                a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                                    .expect("escaped attribute")
                                    .into_owned(),
                            )
                        })
                        .collect();
                    elements.push((name, attributes));
                }
                Event::Text(t) => text.push_str(&t.decode().expect("UTF-8 text")),
                Event::GeneralRef(r) => {
                    let name = r.decode().expect("UTF-8 reference");
                    text.push_str(match name.as_ref() {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        other => panic!("unknown entity {other}"),
                    });
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert!(!elements.is_empty());
        (elements, texts)
    }

    fn attr<'a>(element: &'a Element, name: &str) -> Option<&'a str> {
        element
            .1
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The root is an accessible image naming its own title and description, and scales.
    fn check_accessible(figure: &Figure) {
        let (elements, _) = parse(&figure.svg);
        let root = &elements[0];
        assert_eq!(root.0, "svg");
        assert_eq!(attr(root, "role"), Some("img"));
        assert_eq!(attr(root, "width"), Some("100%"));
        assert!(attr(root, "viewBox").is_some());
        let labelled: Vec<&str> = attr(root, "aria-labelledby").unwrap().split(' ').collect();
        let id_of = |name: &str| {
            elements
                .iter()
                .find(|e| e.0 == name)
                .and_then(|e| attr(e, "id"))
                .unwrap_or_else(|| panic!("no {name} with an id"))
                .to_string()
        };
        assert_eq!(labelled, [id_of("title"), id_of("desc")]);
        // Every url(#…) points at something defined.
        for element in &elements {
            if let Some(fill) = attr(element, "fill").and_then(|f| f.strip_prefix("url(#")) {
                let target = fill.trim_end_matches(')');
                assert!(
                    elements.iter().any(|e| attr(e, "id") == Some(target)),
                    "{target} is defined"
                );
            }
        }
    }

    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let c = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    #[test]
    fn drawing_colours_have_at_least_3_to_1_contrast_on_white() {
        for colour in [BLUE, DARK_BLUE, NAVY, RED, DARK_RED, MAROON, GREY, TEXT] {
            let ratio = 1.05 / (luminance(colour) + 0.05);
            assert!(ratio >= 3.0, "{colour}: {ratio:.2}");
        }
        // White labels on the segments they sit on are text: 4.5:1.
        for colour in [BLUE, RED, GREY] {
            let ratio = 1.05 / (luminance(colour) + 0.05);
            assert!(ratio >= 4.5, "white on {colour}: {ratio:.2}");
        }
    }

    fn months() -> Vec<(String, Option<f64>)> {
        vec![
            ("Aug 2026".into(), Some(50.0)),
            ("Sep 2026".into(), None),
            ("Oct 2026".into(), Some(66.666_666)),
            ("Nov 2026".into(), Some(75.0)),
        ]
    }

    #[test]
    fn a_run_chart_has_a_gap_a_target_and_a_median() {
        let figure = run_chart(
            "run",
            &months(),
            80.0,
            "Projects with meaningful involvement",
            "Monthly percentage",
        );
        check_accessible(&figure);
        let (elements, texts) = parse(&figure.svg);
        assert!(texts.contains(&"Target 80%".to_string()), "{texts:?}");
        assert!(
            texts.contains(&"Median 67%".to_string()),
            "median of 50, 66.7, 75: {texts:?}"
        );
        assert!(texts.contains(&"Oct 2026: 67%".to_string()));
        let path = elements.iter().find(|e| e.0 == "path").unwrap();
        let d = attr(path, "d").unwrap();
        assert_eq!(
            d.matches('M').count(),
            2,
            "the line breaks at September: {d}"
        );
        assert_eq!(elements.iter().filter(|e| e.0 == "circle").count(), 3);
        assert_eq!(
            figure.table.rows,
            [
                ["Aug 2026", "50%"],
                ["Sep 2026", "no active projects"],
                ["Oct 2026", "67%"],
                ["Nov 2026", "75%"]
            ]
        );
        assert_eq!(figure.table.columns, ["Month", "Percentage"]);
        let target_line = elements
            .iter()
            .find(|e| attr(e, "stroke-dasharray") == Some("8 5"))
            .unwrap();
        // y = top + height × (1 − 0.8) = 24 + 212 × 0.2
        assert_eq!(attr(target_line, "y1"), Some("66.4"));
    }

    #[test]
    fn a_run_chart_with_one_month_or_none_measured_still_draws() {
        let one = run_chart("one", &[("Nov 2026".into(), Some(100.0))], 80.0, "t", "d");
        check_accessible(&one);
        let none = run_chart("none", &[("Nov 2026".into(), None)], 80.0, "t", "d");
        check_accessible(&none);
        assert!(!none.svg.contains("Median"));
        let empty = run_chart("empty", &[], 80.0, "t", "d");
        check_accessible(&empty);
        assert!(empty.table.rows.is_empty());
    }

    #[test]
    fn hostile_labels_are_escaped_everywhere() {
        let hostile = "<script>alert('x')</script> & \"friends\"";
        let figure = run_chart(
            "x\"><script>",
            &[(hostile.to_string(), Some(10.0))],
            80.0,
            hostile,
            hostile,
        );
        assert!(!figure.svg.contains("<script"));
        assert!(figure
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-'));
        check_accessible(&figure);
        let (_, texts) = parse(&figure.svg);
        assert!(texts.iter().any(|t| t == hostile), "title kept, escaped");
        assert_eq!(
            figure.table.rows[0][0], hostile,
            "the table is escaped by Tera"
        );

        let bars = bar_chart(&BarChart {
            id: "bars".into(),
            title: hostile.into(),
            description: hostile.into(),
            bars: vec![(hostile.into(), Cell::Count(3))],
            base: Some(3),
            threshold: 5,
        });
        assert!(!bars.svg.contains("<script"));
        check_accessible(&bars);
        let likert = diverging_bars(&Likert {
            id: "likert".into(),
            title: hostile.into(),
            description: hostile.into(),
            categories: vec![hostile.into(), "B & C".into()],
            negative: 1,
            neutral: false,
            groups: vec![LikertGroup {
                label: hostile.into(),
                counts: vec![Cell::Count(10), Cell::Count(10)],
                total: None,
            }],
            threshold: 5,
        });
        assert!(!likert.svg.contains("<script") && likert.svg.contains("B &amp; C"));
        check_accessible(&likert);
    }

    #[test]
    fn bars_show_counts_percentages_and_suppressed_cells() {
        let figure = bar_chart(&BarChart {
            id: "q1".into(),
            title: "How did you hear about the project?".into(),
            description: "Answers from 40 people".into(),
            bars: vec![
                (
                    "From staff on the ward or in clinic".into(),
                    Cell::Count(24),
                ),
                ("A poster".into(), Cell::Count(12)),
                ("Somewhere else".into(), None.into()),
            ],
            base: Some(40),
            threshold: 5,
        });
        check_accessible(&figure);
        assert_eq!(figure.table.columns, ["Answer", "Count", "Percentage"]);
        assert_eq!(
            figure.table.rows,
            [
                ["From staff on the ward or in clinic", "24", "60%"],
                ["A poster", "12", "30%"],
                ["Somewhere else", "fewer than 5", "suppressed"]
            ]
        );
        let (elements, texts) = parse(&figure.svg);
        assert!(texts.contains(&"24 (60%)".to_string()));
        assert!(texts.contains(&"fewer than 5".to_string()));
        let rects: Vec<_> = elements
            .iter()
            .filter(|e| e.0 == "rect" && attr(e, "x") == Some("158"))
            .collect();
        assert_eq!(rects.len(), 3);
        let width = |i: usize| attr(rects[i], "width").unwrap().parse::<f64>().unwrap();
        assert!((width(0) / width(1) - 2.0).abs() < 0.01, "to scale");
        assert!(attr(rects[2], "fill").unwrap().contains("suppressed"));
        assert!(
            texts.iter().any(|t| t == "or in clinic"),
            "wrapped: {texts:?}"
        );

        let counts_only = bar_chart(&BarChart {
            id: "q2".into(),
            title: "t".into(),
            description: "d".into(),
            bars: vec![("Yes".into(), Cell::Count(7))],
            base: None,
            threshold: 5,
        });
        assert_eq!(counts_only.table.rows, [["Yes", "7"]]);
    }

    #[test]
    fn likert_bars_diverge_from_the_centre() {
        let figure = diverging_bars(&Likert {
            id: "likert".into(),
            title: "I feel listened to".into(),
            description: "Agreement by group".into(),
            categories: vec![
                "Strongly disagree".into(),
                "Disagree".into(),
                "Neither".into(),
                "Agree".into(),
                "Strongly agree".into(),
            ],
            negative: 2,
            neutral: true,
            groups: vec![
                LikertGroup {
                    label: "Staff".into(),
                    counts: [10, 10, 20, 40, 20].map(Cell::Count).to_vec(),
                    total: None,
                },
                LikertGroup {
                    label: "Carers".into(),
                    counts: vec![
                        Cell::Suppressed,
                        Cell::Count(6),
                        Cell::Count(6),
                        Cell::Count(6),
                        Cell::Count(12),
                    ],
                    total: Some(33),
                },
            ],
            threshold: 5,
        });
        check_accessible(&figure);
        assert_eq!(
            figure.table.columns,
            [
                "Group",
                "Strongly disagree",
                "Disagree",
                "Neither",
                "Agree",
                "Strongly agree",
                "Answered"
            ]
        );
        assert_eq!(
            figure.table.rows,
            [
                ["Staff", "10 (10%)", "10 (10%)", "20 (20%)", "40 (40%)", "20 (20%)", "100"],
                [
                    "Carers",
                    "fewer than 5",
                    "6 (18%)",
                    "6 (18%)",
                    "6 (18%)",
                    "12 (36%)",
                    "33"
                ]
            ]
        );
        let (elements, texts) = parse(&figure.svg);
        // The staff bar: negatives end at the centre minus half the neutral.
        for title in [
            "Staff, Disagree: 10%",
            "Staff, Neither: 20%",
            "Carers, Agree: 18%",
        ] {
            assert!(texts.iter().any(|t| t == title), "{title}");
        }
        assert!(
            !texts
                .iter()
                .any(|t| t.starts_with("Carers, Strongly disagree")),
            "a suppressed cell is not drawn"
        );
        let centre = elements
            .iter()
            .find(|e| e.0 == "line" && attr(e, "stroke-width") == Some("1.5"))
            .unwrap();
        let cx: f64 = attr(centre, "x1").unwrap().parse().unwrap();
        let rect_x = |n: usize| {
            elements
                .iter()
                .filter(|e| e.0 == "rect" && attr(e, "stroke") == Some("#ffffff"))
                .nth(n)
                .map(|e| {
                    (
                        attr(e, "x").unwrap().parse::<f64>().unwrap(),
                        attr(e, "width").unwrap().parse::<f64>().unwrap(),
                    )
                })
                .unwrap()
        };
        // Staff segments in drawing order: Disagree, Strongly disagree, Neither, Agree, Strongly agree.
        let (dx, dw) = rect_x(0);
        let (nx, nw) = rect_x(2);
        let (ax, _) = rect_x(3);
        assert!(
            (dx + dw - (cx - nw / 2.0)).abs() < 0.2,
            "negatives end at the neutral's left half"
        );
        assert!(
            (nx + nw / 2.0 - cx).abs() < 0.2,
            "neutral centred on the line"
        );
        assert!(
            (ax - (cx + nw / 2.0)).abs() < 0.2,
            "positives start at its right half"
        );
        for name in ["Strongly disagree", "Neither", "Strongly agree"] {
            assert!(texts.contains(&name.to_string()), "legend lists {name}");
        }
    }

    #[test]
    fn labels_wrap_at_spaces() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(percent_text(66.5), "67%");
    }
}
