//! What a coded passage is: a stretch of an answer or of interview notes, counted in Unicode
//! characters so offsets mean the same in every export and tool, with a valence. No storage here.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::analysis::agreement::slice_chars;
use crate::distribution::participants::rules::{choices, simplify, vocabulary, Choice};
use crate::error::FieldErrors;

vocabulary!(
    /// What a passage says about involvement.
    Valence {
        Barrier => "barrier", "Barrier";
        Enabler => "enabler", "Enabler";
        Mixed => "mixed", "Mixed";
        Neutral => "neutral", "Neutral";
    }
);

vocabulary!(
    /// Which text of an answer is coded: the participant's own words or the interviewer's notes.
    Field {
        Answer => "answer", "Answer";
        Notes => "notes", "Interview notes";
    }
);

/// Question kinds whose answers are free text, so passages of them can be coded.
pub const TEXT_KINDS: &[&str] = &["short_text", "long_text"];

/// A request to code a passage with one or more codes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewCoding {
    pub answer_id: i64,
    /// `answer` or `notes`.
    pub field: String,
    /// First character of the passage (0-based, Unicode characters). Leave start and end out, and
    /// give `passage`, to code the first place those words appear; leave all three out to code the
    /// whole text.
    pub start: Option<usize>,
    /// Character after the passage (end exclusive).
    pub end: Option<usize>,
    /// The words of the passage, when no offsets are given.
    pub passage: String,
    pub code_ids: Vec<i64>,
    /// barrier, enabler, mixed or neutral.
    pub valence: String,
    /// A double-coding round the coder is coding in, blind; absent for the study's coding.
    pub round_id: Option<i64>,
}

/// A checked passage: where it is and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    pub field: Field,
    pub start: usize,
    pub end: usize,
    pub quote: String,
    pub valence: Valence,
}

/// Where `words` first appear in `text`, in characters.
pub fn locate(text: &str, words: &str) -> Option<(usize, usize)> {
    let at = text.find(words)?;
    let start = text[..at].chars().count();
    Some((start, start + words.chars().count()))
}

/// Checks a passage of `text` (the chosen field's text): offsets inside the text, or words that
/// appear in it, or the whole text; a valence; at least one code. Errors are keyed by field name.
pub fn check(
    request: &NewCoding,
    text_of: impl Fn(Field) -> String,
) -> Result<Passage, FieldErrors> {
    let mut errors = FieldErrors::new();
    let field = Field::parse(&request.field);
    if field.is_none() {
        errors.insert(
            "field".into(),
            format!("Choose which text to code: {}", Field::choices()),
        );
    }
    let valence = Valence::parse(&request.valence);
    if valence.is_none() {
        errors.insert(
            "valence".into(),
            format!("Choose what the passage describes: {}", Valence::choices()),
        );
    }
    if request.code_ids.is_empty() {
        errors.insert("code_ids".into(), "Choose at least one code".into());
    }
    let place = field.map(|field| {
        let text = text_of(field);
        (field, place_in(&text, request))
    });
    let passage = match place {
        Some((field, Ok((start, end, quote)))) => valence.map(|valence| Passage {
            field,
            start,
            end,
            quote,
            valence,
        }),
        Some((_, Err((name, message)))) => {
            errors.insert(name.into(), message);
            None
        }
        None => None,
    };
    match passage {
        Some(passage) if errors.is_empty() => Ok(passage),
        _ => Err(errors),
    }
}

fn place_in(
    text: &str,
    request: &NewCoding,
) -> Result<(usize, usize, String), (&'static str, String)> {
    let length = text.chars().count();
    if length == 0 {
        return Err((
            "field",
            "This text is empty: there is nothing to code".into(),
        ));
    }
    let (start, end) = match (request.start, request.end) {
        (Some(start), Some(end)) => {
            if end <= start {
                return Err(("end", "The end must come after the start".into()));
            }
            if end > length {
                return Err((
                    "end",
                    format!("The text has {length} characters: the end must be {length} or less"),
                ));
            }
            (start, end)
        }
        (Some(_), None) => return Err(("end", "Give the end of the passage too".into())),
        (None, Some(_)) => return Err(("start", "Give the start of the passage too".into())),
        (None, None) if request.passage.trim().is_empty() => (0, length),
        (None, None) => locate(text, request.passage.trim()).ok_or((
            "passage",
            "These words are not in the text: copy them exactly, or leave the box empty to code the whole text"
                .to_string(),
        ))?,
    };
    let quote = slice_chars(text, start, end)
        .unwrap_or_default()
        .to_string();
    Ok((start, end, quote))
}

/// Where a stored passage is now. Texts can be corrected after coding (interview notes, answers
/// changed after sending): a passage that no longer reads as coded is looked for again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// The text at the offsets is the passage as coded.
    Exact,
    /// The text changed before the passage; it is found further on or back.
    Moved { start: usize, end: usize },
    /// The passage's words are no longer in the text.
    Lost,
}

pub fn placement(text: &str, start: usize, end: usize, quote: &str) -> Placement {
    if slice_chars(text, start, end) == Some(quote) {
        return Placement::Exact;
    }
    match locate(text, quote) {
        Some((start, end)) => Placement::Moved { start, end },
        None => Placement::Lost,
    }
}

/// A stretch of text with the passages that cover it, for showing codings inline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub text: String,
    /// Indexes (into the spans given) of the passages covering this stretch.
    pub covered_by: Vec<usize>,
}

/// Splits `text` at every passage boundary, so each stretch is covered by one set of passages.
pub fn segments(text: &str, spans: &[(usize, usize)]) -> Vec<Segment> {
    let chars: Vec<char> = text.chars().collect();
    let mut cuts: Vec<usize> = spans
        .iter()
        .flat_map(|&(s, e)| [s.min(chars.len()), e.min(chars.len())])
        .chain([0, chars.len()])
        .collect();
    cuts.sort_unstable();
    cuts.dedup();
    cuts.windows(2)
        .map(|w| Segment {
            text: chars[w[0]..w[1]].iter().collect(),
            covered_by: spans
                .iter()
                .enumerate()
                .filter(|(_, &(s, e))| s <= w[0] && w[1] <= e)
                .map(|(i, _)| i)
                .collect(),
        })
        .collect()
}

/// What people outside the study team see instead of a name: the participant's code, or the
/// response's number when the study keeps no link to the participant.
pub fn pseudonym(participant_code: Option<&str>, response_id: i64) -> String {
    participant_code.map_or_else(|| format!("R-{response_id}"), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(start: Option<usize>, end: Option<usize>, passage: &str) -> NewCoding {
        NewCoding {
            answer_id: 1,
            field: "answer".into(),
            start,
            end,
            passage: passage.into(),
            code_ids: vec![7],
            valence: "barrier".into(),
            round_id: None,
        }
    }

    const TEXT: &str = "Café meetings at 9 € cost me 12 € — too much 🙁 for carers";

    #[test]
    fn offsets_count_characters_not_bytes() {
        let passage = check(&request(Some(5), Some(13), ""), |_| TEXT.into()).unwrap();
        assert_eq!(passage.quote, "meetings");
        let passage = check(&request(None, None, "too much 🙁"), |_| TEXT.into()).unwrap();
        assert_eq!((passage.start, passage.end), (36, 46));
        assert_eq!(slice_chars(TEXT, 36, 46), Some("too much 🙁"));
    }

    #[test]
    fn no_offsets_and_no_words_code_the_whole_text() {
        let passage = check(&request(None, None, "  "), |_| TEXT.into()).unwrap();
        assert_eq!((passage.start, passage.end), (0, TEXT.chars().count()));
        assert_eq!(passage.quote, TEXT);
    }

    #[test]
    fn bad_requests_are_named_field_by_field() {
        let errors = check(
            &NewCoding {
                field: "diary".into(),
                valence: "awful".into(),
                ..NewCoding::default()
            },
            |_| TEXT.into(),
        )
        .unwrap_err();
        let names: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(names, ["code_ids", "field", "valence"]);
        let beyond = check(&request(Some(3), Some(500), ""), |_| TEXT.into()).unwrap_err();
        assert!(beyond["end"].contains("57 characters"), "{beyond:?}");
        let backwards = check(&request(Some(9), Some(4), ""), |_| TEXT.into()).unwrap_err();
        assert!(backwards.contains_key("end"));
        let half = check(&request(Some(9), None, ""), |_| TEXT.into()).unwrap_err();
        assert!(half.contains_key("end"));
        let absent = check(&request(None, None, "parking"), |_| TEXT.into()).unwrap_err();
        assert!(absent["passage"].contains("not in the text"));
        let empty = check(&request(None, None, ""), |_| String::new()).unwrap_err();
        assert!(empty["field"].contains("empty"));
    }

    #[test]
    fn corrected_texts_move_or_lose_their_passages() {
        assert_eq!(placement(TEXT, 5, 13, "meetings"), Placement::Exact);
        let corrected = format!("Note: {TEXT}");
        assert_eq!(
            placement(&corrected, 5, 13, "meetings"),
            Placement::Moved { start: 11, end: 19 }
        );
        assert_eq!(placement("rewritten", 5, 13, "meetings"), Placement::Lost);
    }

    #[test]
    fn segments_split_at_every_boundary() {
        let parts = segments("abcdefgh", &[(1, 5), (3, 7)]);
        let shown: Vec<(&str, Vec<usize>)> = parts
            .iter()
            .map(|s| (s.text.as_str(), s.covered_by.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                ("a", vec![]),
                ("bc", vec![0]),
                ("de", vec![0, 1]),
                ("fg", vec![1]),
                ("h", vec![]),
            ]
        );
        assert_eq!(segments("é€", &[]).len(), 1);
    }

    #[test]
    fn pseudonyms_never_need_a_name() {
        assert_eq!(pseudonym(Some("P-0007"), 3), "P-0007");
        assert_eq!(pseudonym(None, 3), "R-3");
    }
}
