//! Word-level differences between two versions of a text, as data (for the API) and as accessible HTML.

use std::time::Duration;

use serde::Serialize;
use similar::{ChangeTag, TextDiff};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Equal,
    Delete,
    Insert,
}

/// A run of text that is in both versions, only the earlier one, or only the later one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Segment {
    pub op: Op,
    pub text: String,
}

/// The changed words between a delete and an insert are collected here, so that "The quick" → "A slow"
/// reads as one removal and one addition rather than alternating single words around shared spaces.
#[derive(Default)]
struct Run {
    deleted: String,
    inserted: String,
    spaces: String,
}

impl Run {
    fn take_spaces(&mut self) {
        self.deleted.push_str(&self.spaces);
        self.inserted.push_str(&self.spaces);
        self.spaces.clear();
    }

    fn flush(&mut self, out: &mut Vec<Segment>) {
        for (op, text) in [
            (Op::Delete, std::mem::take(&mut self.deleted)),
            (Op::Insert, std::mem::take(&mut self.inserted)),
            (Op::Equal, std::mem::take(&mut self.spaces)),
        ] {
            push(out, op, &text);
        }
    }
}

fn push(out: &mut Vec<Segment>, op: Op, text: &str) {
    if text.is_empty() {
        return;
    }
    match out.last_mut() {
        Some(last) if last.op == op => last.text.push_str(text),
        _ => out.push(Segment {
            op,
            text: text.to_string(),
        }),
    }
}

/// The words removed from `old` and added in `new`; joining the equal and deleted segments gives `old`
/// back, the equal and inserted ones `new`.
pub fn word_diff(old: &str, new: &str) -> Vec<Segment> {
    // The texts are bounded by the form limits, but a history page must never hang on one diff: past the
    // deadline `similar` settles for a coarser (still correct) answer.
    let diff = TextDiff::configure()
        .timeout(Duration::from_millis(200))
        .diff_words(old, new);
    let mut out = Vec::new();
    let mut run = Run::default();
    for change in diff.iter_all_changes() {
        let text = change.value();
        match change.tag() {
            ChangeTag::Equal => {
                let between_changes = !run.deleted.is_empty() && !run.inserted.is_empty();
                if between_changes && text.chars().all(char::is_whitespace) {
                    run.spaces.push_str(text);
                } else {
                    run.flush(&mut out);
                    push(&mut out, Op::Equal, text);
                }
            }
            ChangeTag::Delete => {
                run.take_spaces();
                run.deleted.push_str(text);
            }
            ChangeTag::Insert => {
                run.take_spaces();
                run.inserted.push_str(text);
            }
        }
    }
    run.flush(&mut out);
    out
}

/// The diff as HTML: removals in `<del>` and additions in `<ins>`, each announced in words to screen
/// readers (which mostly ignore those elements) and never marked by colour alone. All text is escaped.
pub fn to_html(segments: &[Segment]) -> String {
    let mut html = String::new();
    for segment in segments {
        let text = tera::escape_html(&segment.text);
        match segment.op {
            Op::Equal => html.push_str(&text),
            Op::Delete => {
                html.push_str("<del><span class=\"nhsuk-u-visually-hidden\">removed: </span>");
                html.push_str(&text);
                html.push_str("</del>");
            }
            Op::Insert => {
                html.push_str("<ins><span class=\"nhsuk-u-visually-hidden\">added: </span>");
                html.push_str(&text);
                html.push_str("</ins>");
            }
        }
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rebuild(segments: &[Segment], skip: Op) -> String {
        segments
            .iter()
            .filter(|s| s.op != skip)
            .map(|s| s.text.as_str())
            .collect()
    }

    #[test]
    fn changed_words_are_marked_and_both_versions_can_be_rebuilt() {
        let old = "What helped you take part?";
        let new = "What made it easy to take part?";
        let segments = word_diff(old, new);
        assert_eq!(rebuild(&segments, Op::Insert), old);
        assert_eq!(rebuild(&segments, Op::Delete), new);
        assert_eq!(
            segments,
            vec![
                Segment {
                    op: Op::Equal,
                    text: "What ".into()
                },
                Segment {
                    op: Op::Delete,
                    text: "helped you".into()
                },
                Segment {
                    op: Op::Insert,
                    text: "made it easy to".into()
                },
                Segment {
                    op: Op::Equal,
                    text: " take part?".into()
                },
            ]
        );
    }

    #[test]
    fn the_same_text_is_one_equal_segment_and_empty_sides_are_whole_additions() {
        assert_eq!(word_diff("Same words", "Same words").len(), 1);
        assert_eq!(
            word_diff("", "New question"),
            vec![Segment {
                op: Op::Insert,
                text: "New question".into()
            }]
        );
        assert!(word_diff("", "").is_empty());
    }

    #[test]
    fn html_escapes_every_text_and_says_what_changed_in_words() {
        let html = to_html(&word_diff(
            "Use <b>bold</b> & \"quotes\"",
            "Use <script>alert(1)</script> & 'quotes'",
        ));
        assert!(
            !html.contains("<b>") && !html.contains("<script>"),
            "{html}"
        );
        assert!(
            html.contains("&lt;script&gt;") && html.contains("&amp;"),
            "{html}"
        );
        assert!(html.contains("<del><span class=\"nhsuk-u-visually-hidden\">removed: </span>"));
        assert!(html.contains("<ins><span class=\"nhsuk-u-visually-hidden\">added: </span>"));
    }

    #[test]
    fn multibyte_text_is_split_on_words_not_bytes() {
        let old = "Wie geht’s? Café für Betreuer 🙂";
        let new = "Wie geht’s? Café für Pflegende 🙂";
        let segments = word_diff(old, new);
        assert_eq!(rebuild(&segments, Op::Insert), old);
        assert_eq!(rebuild(&segments, Op::Delete), new);
        let html = to_html(&segments);
        assert!(html.contains("removed: </span>Betreuer</del>"), "{html}");
        assert!(html.contains("added: </span>Pflegende</ins>"), "{html}");
        assert!(html.starts_with("Wie geht’s? Café für "), "{html}");
        assert!(html.ends_with(" 🙂"), "{html}");
    }
}
