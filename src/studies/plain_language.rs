//! Plain-language aid for participant-facing text (question wording, help text, information sheets,
//! emails): readability figures, passive-voice hints and jargon, with no storage or HTTP.
//!
//! Every figure is a heuristic tuned for British English; it prompts the co-design group to look
//! again, it does not judge. Byte ranges index the original `&str`, so they always fall on char
//! boundaries; a browser script that wants UTF-16 offsets must convert them.

use serde::Serialize;
use utoipa::ToSchema;

/// Highest [`Analysis::reading_age`]. Flesch–Kincaid only extrapolates beyond degree level, so this
/// value means "this age or older".
pub const MAX_READING_AGE: u32 = 21;
const MIN_READING_AGE: u32 = 5;

/// What the editor shows beside one participant-facing text.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
#[schema(as = PlainLanguageAnalysis)]
pub struct Analysis {
    pub word_count: usize,
    pub sentence_count: usize,
    pub syllable_count: usize,
    /// Flesch reading ease from 0 (hardest) to 100 (easiest), one decimal; `None` without words.
    pub reading_ease: Option<f64>,
    pub band: Option<ReadingBand>,
    /// Approximate UK reading age in whole years (US Flesch–Kincaid grade + 5), from 5 to
    /// [`MAX_READING_AGE`]; `None` without words.
    pub reading_age: Option<u32>,
    pub longest_sentence: Option<LongestSentence>,
    pub passive_hints: Vec<PassiveHint>,
    /// In text order, never overlapping.
    pub jargon: Vec<JargonMatch>,
}

/// Flesch reading ease in plain words; serialised as those words so templates can print it as is.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, ToSchema)]
pub enum ReadingBand {
    #[serde(rename = "very easy")]
    VeryEasy,
    #[serde(rename = "easy")]
    Easy,
    #[serde(rename = "fairly easy")]
    FairlyEasy,
    #[serde(rename = "standard")]
    Standard,
    #[serde(rename = "fairly hard")]
    FairlyHard,
    #[serde(rename = "hard")]
    Hard,
    #[serde(rename = "very hard")]
    VeryHard,
}

impl ReadingBand {
    fn of(reading_ease: f64) -> Self {
        match reading_ease {
            e if e >= 90.0 => Self::VeryEasy,
            e if e >= 80.0 => Self::Easy,
            e if e >= 70.0 => Self::FairlyEasy,
            e if e >= 60.0 => Self::Standard,
            e if e >= 50.0 => Self::FairlyHard,
            e if e >= 30.0 => Self::Hard,
            _ => Self::VeryHard,
        }
    }
}

/// The sentence with the most words (the first of equals); `text` is `start..end` of the original.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct LongestSentence {
    pub text: String,
    pub word_count: usize,
    pub start: usize,
    pub end: usize,
}

/// A form of "to be" followed, at most one word later, by what looks like a past participle.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct PassiveHint {
    pub phrase: String,
    pub start: usize,
    pub end: usize,
}

/// One occurrence of a jargon term; `term` is as given in the list, `matched` as written in the text.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct JargonMatch {
    pub term: String,
    pub matched: String,
    pub start: usize,
    pub end: usize,
}

/// Analyses one text against a jargon list (terms are matched case-insensitively on word
/// boundaries; blank terms and terms without a letter or digit are ignored).
pub fn analyse(text: &str, jargon: &[String]) -> Analysis {
    let tokens = tokenise(text);
    let sentences = sentences(text, &tokens);

    let word_count = tokens.iter().filter(|t| t.is_word).count();
    let syllable_count = tokens
        .iter()
        .filter(|t| t.is_word)
        .map(|t| token_syllables(&text[t.start..t.end]))
        .sum();
    let sentence_count = sentences
        .iter()
        .filter(|&s| word_count_of(&tokens[s.clone()]) > 0)
        .count();

    let (reading_ease, band, reading_age) = if word_count == 0 {
        (None, None, None)
    } else {
        let words_per_sentence = word_count as f64 / sentence_count.max(1) as f64;
        let syllables_per_word = syllable_count as f64 / word_count as f64;
        let ease = 206.835 - 1.015 * words_per_sentence - 84.6 * syllables_per_word;
        let ease = (ease.clamp(0.0, 100.0) * 10.0).round() / 10.0;
        let grade = 0.39 * words_per_sentence + 11.8 * syllables_per_word - 15.59;
        let age = (grade + 5.0)
            .round()
            .clamp(f64::from(MIN_READING_AGE), f64::from(MAX_READING_AGE)) as u32;
        (Some(ease), Some(ReadingBand::of(ease)), Some(age))
    };

    Analysis {
        word_count,
        sentence_count,
        syllable_count,
        reading_ease,
        band,
        reading_age,
        longest_sentence: longest_sentence(text, &tokens, &sentences),
        passive_hints: passive_hints(text, &tokens, &sentences),
        jargon: find_jargon(text, jargon),
    }
}

/// The text HTML-escaped, with each jargon occurrence wrapped in `<mark class="jargon">`. Line
/// breaks are kept as they are, for an element styled `white-space: pre-wrap`.
pub fn highlight_jargon(text: &str, jargon: &[String]) -> String {
    let mut html = String::with_capacity(text.len() + text.len() / 8);
    let mut at = 0;
    for found in find_jargon(text, jargon) {
        escape_html_into(&mut html, &text[at..found.start]);
        html.push_str("<mark class=\"jargon\">");
        escape_html_into(&mut html, &found.matched);
        html.push_str("</mark>");
        at = found.end;
    }
    escape_html_into(&mut html, &text[at..]);
    html
}

fn escape_html_into(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#x27;"),
            _ => html.push(c),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens and sentences

/// A run of non-whitespace; a word if it holds a letter or digit and is not a list marker.
struct Token {
    start: usize,
    end: usize,
    is_word: bool,
}

const BULLETS: &[char] = &['-', '*', '+', '•', '◦', '‣', '▪', '–', '·'];
const OPENERS: &[char] = &['(', '[', '{', '"', '\'', '‘', '“', '«', '‹'];
const CLOSERS: &[char] = &[')', ']', '}', '"', '\'', '’', '”', '»', '›'];

/// Lower-cased words that a full stop follows without ending the sentence.
const NON_TERMINAL: &[&str] = &[
    "approx", "cf", "dept", "dr", "e.g", "eg", "ext", "fig", "i.e", "ie", "mr", "mrs", "ms", "mx",
    "prof", "ref", "rev", "st", "tel", "vs",
];

fn tokenise(text: &str) -> Vec<Token> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                spans.push((s, i));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }

    let mut previous_end = 0;
    spans
        .into_iter()
        .map(|(start, end)| {
            let token = &text[start..end];
            let line_start = previous_end == 0 || line_breaks(&text[previous_end..start]) > 0;
            previous_end = end;
            // A list number such as "1." is not read aloud, so it must not dilute the figures.
            let is_word =
                token.chars().any(char::is_alphanumeric) && !(line_start && is_list_marker(token));
            Token {
                start,
                end,
                is_word,
            }
        })
        .collect()
}

fn line_breaks(gap: &str) -> usize {
    let mut count = 0;
    let mut chars = gap.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() != Some(&'\n') => count += 1,
            '\n' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' => count += 1,
            '\u{2029}' => count += 2,
            _ => {}
        }
    }
    count
}

/// "-", "•", "1.", "12)", "a)", "(b)" and the like, standing alone.
fn is_list_marker(token: &str) -> bool {
    let mut chars = token.chars();
    if let (Some(c), None) = (chars.next(), chars.next()) {
        return BULLETS.contains(&c);
    }
    let inner = token.strip_prefix('(').unwrap_or(token);
    let Some(label) = inner.strip_suffix(['.', ')']) else {
        return false;
    };
    let numbered = (1..=3).contains(&label.len()) && label.chars().all(|c| c.is_ascii_digit());
    let lettered = label.len() == 1 && label.chars().all(|c| c.is_ascii_alphabetic());
    numbered || (lettered && inner.ends_with(')'))
}

fn starts_list_item(token: &str) -> bool {
    is_list_marker(token) || token.starts_with(|c| BULLETS.contains(&c) && c != '-' && c != '+')
}

/// Sentences as ranges of token indices, each non-empty.
fn sentences(text: &str, tokens: &[Token]) -> Vec<std::ops::Range<usize>> {
    let mut sentences = Vec::new();
    let mut first = 0;
    for k in 0..tokens.len() {
        if k + 1 == tokens.len() || ends_sentence(text, tokens, k) {
            sentences.push(first..k + 1);
            first = k + 1;
        }
    }
    sentences
}

/// Whether the sentence ends after token `k`, which is not the last.
fn ends_sentence(text: &str, tokens: &[Token], k: usize) -> bool {
    let token = &text[tokens[k].start..tokens[k].end];
    let next = &text[tokens[k + 1].start..tokens[k + 1].end];
    // Headings, list items and paragraphs often carry no full stop, yet a reader pauses there;
    // a single line break elsewhere is usually hard wrapping, as in pasted emails.
    let breaks = line_breaks(&text[tokens[k].end..tokens[k + 1].start]);
    if breaks >= 2 || (breaks == 1 && starts_list_item(next)) {
        return true;
    }
    let body = token.trim_end_matches(CLOSERS);
    match body.chars().next_back() {
        Some('!' | '?' | '‽') => true,
        Some('.' | '…') => !full_stop_continues(body, next),
        _ => false,
    }
}

/// Whether a full stop at the end of `body` belongs to an abbreviation or initial rather than
/// ending the sentence.
fn full_stop_continues(body: &str, next: &str) -> bool {
    let next_first = next.trim_start_matches(OPENERS).chars().next();
    if next_first.is_some_and(char::is_lowercase) {
        return true;
    }
    let word = body
        .trim_end_matches(['.', '…'])
        .trim_start_matches(OPENERS);
    let mut chars = word.chars();
    let initial = matches!((chars.next(), chars.next()), (Some(c), None) if c.is_uppercase());
    initial || NON_TERMINAL.contains(&word.to_lowercase().as_str())
}

fn word_count_of(tokens: &[Token]) -> usize {
    tokens.iter().filter(|t| t.is_word).count()
}

fn longest_sentence(
    text: &str,
    tokens: &[Token],
    sentences: &[std::ops::Range<usize>],
) -> Option<LongestSentence> {
    let mut longest: Option<LongestSentence> = None;
    for range in sentences {
        let sentence = &tokens[range.clone()];
        let word_count = word_count_of(sentence);
        if word_count == 0 || longest.as_ref().is_some_and(|l| l.word_count >= word_count) {
            continue;
        }
        // Skip a leading list marker so the quoted sentence starts with its first word.
        let start = sentence.iter().find(|t| t.is_word).map_or(0, |t| t.start);
        let end = sentence.last().map_or(start, |t| t.end);
        longest = Some(LongestSentence {
            text: text[start..end].to_owned(),
            word_count,
            start,
            end,
        });
    }
    longest
}

// ---------------------------------------------------------------------------------------------
// Syllables

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘' | 'ʼ')
}

fn token_syllables(token: &str) -> usize {
    // "don't" is one syllable, not "don" and "t".
    let joined: String = token.chars().filter(|&c| !is_apostrophe(c)).collect();
    let total: usize = joined
        .split(|c: char| !c.is_alphanumeric())
        .map(part_syllables)
        .sum();
    total.max(1)
}

/// Syllables of a run of letters and digits, as in "COVID19" or "1st".
fn part_syllables(part: &str) -> usize {
    let mut total = 0;
    let mut rest = part;
    let mut after_number = false;
    while let Some(first) = rest.chars().next() {
        let numeric = first.is_numeric();
        let split = rest
            .find(|c: char| c.is_numeric() != numeric)
            .unwrap_or(rest.len());
        let (segment, tail) = rest.split_at(split);
        if numeric {
            // Numbers are read roughly a syllable a digit: "2024", "0800 123 4567".
            total += segment.chars().count();
        } else if !(after_number && segment.chars().count() <= 2) {
            // Short letters after a number are a suffix or unit ("1st", "10am", "5mg").
            total += letters_syllables(segment);
        }
        after_number = numeric;
        rest = tail;
    }
    total
}

/// Two-letter capitalised words that are words, not initialisms, when text is in capitals.
const SHORT_CAPITAL_WORDS: &[&str] = &[
    "a", "am", "an", "as", "at", "be", "by", "do", "go", "he", "if", "in", "is", "it", "me", "my",
    "no", "of", "ok", "on", "or", "so", "to", "up", "us", "we",
];

/// Consonant pairs that can begin an English word, so "SMART" is said as a word but "PDSA" is
/// spelt out.
const ONSETS: &[&str] = &[
    "bl", "br", "ch", "cl", "cr", "dr", "dw", "fl", "fr", "gl", "gn", "gr", "kl", "kn", "ph", "pl",
    "pr", "ps", "qu", "rh", "sc", "sh", "sk", "sl", "sm", "sn", "sp", "sq", "st", "sw", "th", "tr",
    "tw", "wh", "wr",
];

fn letters_syllables(segment: &str) -> usize {
    let lower: Vec<char> = segment.chars().flat_map(char::to_lowercase).collect();
    let has_vowel = lower.iter().any(|&c| is_vowel(c) || c == 'y');
    let length = lower.len();
    let capitals = length >= 2 && segment.chars().all(char::is_uppercase);
    let word: String = lower.iter().collect();
    let spelt_out = !has_vowel
        || (capitals && length == 2 && !SHORT_CAPITAL_WORDS.contains(&word.as_str()))
        || (capitals
            && length >= 3
            && !is_vowel(lower[0])
            && !is_vowel(lower[1])
            && !ONSETS.contains(&word.get(..2).unwrap_or("")));
    if spelt_out {
        // Letter names; also a fair count for "Dr", "Mr" and for scripts without Latin vowels.
        lower.iter().map(|&c| if c == 'w' { 3 } else { 1 }).sum()
    } else {
        word_syllables(&lower)
    }
}

fn is_vowel(c: char) -> bool {
    matches!(
        c,
        'a' | 'e'
            | 'i'
            | 'o'
            | 'u'
            | 'à'
            | 'á'
            | 'â'
            | 'ä'
            | 'ã'
            | 'å'
            | 'æ'
            | 'è'
            | 'é'
            | 'ê'
            | 'ë'
            | 'ì'
            | 'í'
            | 'î'
            | 'ï'
            | 'ò'
            | 'ó'
            | 'ô'
            | 'ö'
            | 'õ'
            | 'ø'
            | 'œ'
            | 'ù'
            | 'ú'
            | 'û'
            | 'ü'
    )
}

/// Common words that the rules below get wrong.
const SYLLABLE_EXCEPTIONS: &[(&str, usize)] = &[
    ("business", 2),
    ("businesses", 3),
    ("evening", 2),
    ("every", 2),
    ("maybe", 2),
    ("nevertheless", 4),
    ("recipe", 3),
    ("science", 2),
    ("wednesday", 2),
    ("wherever", 3),
];

/// First halves of compounds whose silent "e" or "y" the rules would otherwise count
/// ("someone", "everything", "therefore", "caregiver").
const COMPOUND_HEADS: &[(&str, usize)] = &[
    ("any", 2),
    ("care", 1),
    ("else", 1),
    ("every", 2),
    ("home", 1),
    ("some", 1),
    ("there", 1),
    ("where", 1),
];

/// Vowel groups, with the usual English adjustments, for a lower-case word of letters.
fn word_syllables(w: &[char]) -> usize {
    let word: String = w.iter().collect();
    if let Some(&(_, n)) = SYLLABLE_EXCEPTIONS.iter().find(|(e, _)| *e == word) {
        return n;
    }
    for &(head, n) in COMPOUND_HEADS {
        if let Some(rest) = word.strip_prefix(head) {
            let rest: Vec<char> = rest.chars().collect();
            if rest.len() >= 2 && rest.iter().any(|&c| is_vowel(c)) {
                return n + word_syllables(&rest);
            }
        }
    }

    let n = w.len();
    let vowel: Vec<bool> = (0..n)
        .map(|i| {
            if w[i] != 'y' {
                return is_vowel(w[i]);
            }
            // "y" is a consonant in "yes", "player" and "beyond", a vowel in "happy" and "myself".
            let before = i > 0 && is_vowel(w[i - 1]);
            let after = w.get(i + 1).is_some_and(|&c| is_vowel(c));
            !(i == 0 || (before && after))
        })
        .collect();
    let at = |i: usize| w.get(i).copied().unwrap_or(' ');
    let ends = |suffix: &str| word.ends_with(suffix);

    let mut count = 0;
    for i in 0..n {
        if vowel[i] && (i == 0 || !vowel[i - 1] || splits_vowel_pair(w, i)) {
            count += 1;
        }
    }

    // A vowel standing alone between consonants, as the "e" of "make" but not of "agree".
    let lone = |i: usize| vowel[i] && (i == 0 || !vowel[i - 1]) && (i + 1 >= n || !vowel[i + 1]);
    // The "l" of "table" and the "r" of "centre" carry a syllable after a different consonant.
    let syllabic =
        |i: usize| (at(i) == 'l' || at(i) == 'r') && i >= 1 && !vowel[i - 1] && at(i - 1) != at(i);

    if n >= 2 && count > 1 {
        // "make", "unique" and "league", but not "table", "centre" or "argue".
        let silent_final_e = (ends("e") && lone(n - 1) && !syllabic(n - 2))
            || ends("que")
            || (ends("gue") && n >= 4 && vowel[n - 4]);
        if silent_final_e {
            count -= 1;
        } else if n >= 3 && ends("es") && lone(n - 2) && !syllabic(n - 3) {
            let sibilant = matches!(at(n - 3), 's' | 'x' | 'z' | 'c' | 'g')
                || (at(n - 3) == 'h' && matches!(at(n - 4), 'c' | 's'));
            if !sibilant {
                count -= 1;
            }
        } else if n >= 3
            && ends("ed")
            && lone(n - 2)
            && !matches!(at(n - 3), 't' | 'd')
            && !syllabic(n - 3)
        {
            count -= 1;
        } else {
            for suffix in ["ly", "ment", "ful", "ness", "less"] {
                let Some(e) = n.checked_sub(suffix.len() + 1) else {
                    continue;
                };
                if ends(suffix)
                    && e >= 2
                    && at(e) == 'e'
                    && lone(e)
                    && !syllabic(e - 1)
                    && !(suffix == "ment" && at(e - 1) == 'l')
                {
                    count -= 1;
                    break;
                }
            }
        }
    }
    if ends("ism") {
        count += 1;
    }
    count.max(1)
}

/// Whether vowel `w[i]` starts a new syllable although `w[i - 1]` is a vowel too.
fn splits_vowel_pair(w: &[char], i: usize) -> bool {
    let n = w.len();
    let at = |j: usize| w.get(j).copied().unwrap_or(' ');
    let before = if i >= 2 { at(i - 2) } else { ' ' };
    let after = at(i + 1);
    let soft = matches!(before, 'c' | 't' | 's' | 'x' | 'g');
    let double_l = before == 'l' && i >= 3 && at(i - 3) == 'l';
    let starts = |prefix: &str| w.iter().collect::<String>().starts_with(prefix);
    // "being", "doing", "seeing", "studying"
    if i + 3 == n && w[i..] == ['i', 'n', 'g'] {
        return true;
    }
    match (at(i - 1), w[i]) {
        // "media", "trial" but "social", "million"
        ('i', 'a') => !soft && !double_l,
        // "ratio", "previous" but "nation", "precious", "million"
        ('i', 'o') => !(double_l || soft && matches!(after, 'n' | 'u')),
        ('i', 'u') => true,
        // "quiet", "client", "experience", "easier" but "patient", "friend"
        ('i', 'e') => {
            after == 't'
                || (matches!(after, 'n') && matches!(at(i + 2), 'c' | 't') && !soft)
                || (i + 2 == n && after == 'r' && n >= 5 && !is_vowel(before))
                || (i + 3 == n && after == 's' && at(i + 2) == 't' && n >= 7)
        }
        // "usual", "individual" but "equal", "language"
        ('u', 'a') => !matches!(before, 'q' | 'g'),
        // "fluent", "cruel" but "guest", "issued", "values"
        ('u', 'e') => {
            !matches!(before, 'q' | 'g')
                && after != ' '
                && !is_vowel(after)
                && after != 's'
                && after != 'd'
        }
        // "idea", "area", "create", "react" but "tea", "reach"
        ('e', 'a') => (i + 1 == n && n > 3) || starts("crea") || starts("react"),
        // "video", "theory", "geography" but "people", "surgeon"
        ('e', 'o') => before != 'p' && !(before == 'g' && i >= 3),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Passive voice

const BE_FORMS: &[&str] = &[
    "am", "is", "are", "was", "were", "be", "been", "being", "isn't", "aren't", "wasn't",
    "weren't", "i'm", "you're", "we're", "they're",
];

/// After these, a participle describes a noun ("is a shared space") rather than forming a passive.
const DETERMINERS: &[&str] = &[
    "a", "an", "another", "any", "each", "every", "her", "his", "its", "my", "no", "our", "some",
    "that", "the", "their", "these", "this", "those", "your",
];

/// Irregular participles, and regular ones that the "-eed" rule would reject.
const KNOWN_PARTICIPLES: &[&str] = &[
    "agreed",
    "arisen",
    "awoken",
    "beaten",
    "begun",
    "bent",
    "bitten",
    "blown",
    "born",
    "borne",
    "bought",
    "bound",
    "bred",
    "broken",
    "brought",
    "built",
    "caught",
    "chosen",
    "cut",
    "dealt",
    "done",
    "drawn",
    "driven",
    "eaten",
    "fallen",
    "fed",
    "felt",
    "forbidden",
    "forgiven",
    "forgotten",
    "found",
    "freed",
    "frozen",
    "given",
    "grown",
    "guaranteed",
    "heard",
    "held",
    "hidden",
    "hit",
    "hung",
    "hurt",
    "kept",
    "known",
    "laid",
    "led",
    "left",
    "lent",
    "let",
    "lost",
    "made",
    "meant",
    "met",
    "mistaken",
    "overseen",
    "paid",
    "proven",
    "put",
    "read",
    "ridden",
    "risen",
    "run",
    "said",
    "seen",
    "sent",
    "set",
    "shaken",
    "shown",
    "shut",
    "sold",
    "sought",
    "spent",
    "spoken",
    "spread",
    "stolen",
    "struck",
    "stuck",
    "sworn",
    "taken",
    "taught",
    "thought",
    "thrown",
    "told",
    "torn",
    "undergone",
    "understood",
    "undertaken",
    "upheld",
    "woken",
    "won",
    "worn",
    "withdrawn",
    "written",
];

/// Words ending in "-ed" or "-en" that are not participles.
const NOT_PARTICIPLES: &[&str] = &[
    "burden", "chicken", "children", "citizen", "dozen", "eleven", "garden", "golden", "happen",
    "haven", "heaven", "hundred", "kindred", "kitchen", "linen", "listen", "maiden", "naked",
    "often", "oxygen", "sacred", "seven", "siren", "sudden", "token", "warden", "wicked", "wooden",
];

fn is_participle(word: &str) -> bool {
    if KNOWN_PARTICIPLES.contains(&word) {
        return true;
    }
    if NOT_PARTICIPLES.contains(&word) || !word.chars().all(char::is_alphabetic) {
        return false;
    }
    let n = word.chars().count();
    (word.ends_with("ed") && n >= 4 && !word.ends_with("eed"))
        || (word.ends_with("en") && n >= 5 && !word.ends_with("een") && !word.ends_with("men"))
}

/// A word of a sentence: the token less leading and trailing punctuation.
struct Word {
    start: usize,
    end: usize,
    lower: String,
    punctuated: bool,
}

fn passive_hints(
    text: &str,
    tokens: &[Token],
    sentences: &[std::ops::Range<usize>],
) -> Vec<PassiveHint> {
    let mut hints = Vec::new();
    for range in sentences {
        let words: Vec<Word> = tokens[range.clone()]
            .iter()
            .filter(|t| t.is_word)
            .map(|t| {
                let token = &text[t.start..t.end];
                let head = token.trim_start_matches(|c: char| !c.is_alphanumeric());
                let core = head.trim_end_matches(|c: char| !c.is_alphanumeric());
                let start = t.start + (token.len() - head.len());
                Word {
                    start,
                    end: start + core.len(),
                    lower: core
                        .chars()
                        .map(|c| if is_apostrophe(c) { '\'' } else { c })
                        .flat_map(char::to_lowercase)
                        .collect(),
                    punctuated: core.len() != head.len(),
                }
            })
            .collect();

        let mut i = 0;
        while i < words.len() {
            // Punctuation in between ("The issue is, given ...") breaks the verb phrase.
            let participle = if !BE_FORMS.contains(&words[i].lower.as_str()) || words[i].punctuated
            {
                None
            } else if words.get(i + 1).is_some_and(|w| is_participle(&w.lower)) {
                Some(i + 1)
            } else if words.get(i + 2).is_some_and(|w| is_participle(&w.lower))
                && !words[i + 1].punctuated
                && !DETERMINERS.contains(&words[i + 1].lower.as_str())
            {
                Some(i + 2)
            } else {
                None
            };
            match participle {
                Some(j) => {
                    let (start, end) = (words[i].start, words[j].end);
                    hints.push(PassiveHint {
                        phrase: text[start..end].to_owned(),
                        start,
                        end,
                    });
                    i = j + 1;
                }
                None => i += 1,
            }
        }
    }
    hints
}

// ---------------------------------------------------------------------------------------------
// Jargon

/// One char as jargon matching compares it: lower case, with the Unicode hyphens and apostrophes
/// that word processors paste standing for "-" and "'". A char whose lower case is longer ("İ")
/// stays as it is, so that offsets keep to whole chars.
fn fold(c: char) -> char {
    if matches!(c, '\u{2010}' | '\u{2011}') {
        return '-';
    }
    if is_apostrophe(c) {
        return '\'';
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Index in `text` just past `term` matched from index `k`; a space in `term` matches any run of
/// whitespace, as multi-word terms get wrapped.
fn match_at(text: &[(usize, char)], k: usize, term: &[char]) -> Option<usize> {
    let mut k = k;
    for &wanted in term {
        if wanted == ' ' {
            let spaced = k;
            while text.get(k).is_some_and(|&(_, c)| c.is_whitespace()) {
                k += 1;
            }
            if k == spaced {
                return None;
            }
        } else if text.get(k).is_some_and(|&(_, c)| c == wanted) {
            k += 1;
        } else {
            return None;
        }
    }
    Some(k)
}

fn find_jargon(text: &str, jargon: &[String]) -> Vec<JargonMatch> {
    let mut terms: Vec<(&str, Vec<char>)> = jargon
        .iter()
        .map(|term| term.trim())
        .filter(|term| term.chars().any(char::is_alphanumeric))
        .map(|term| {
            let spaced = term.split_whitespace().collect::<Vec<_>>().join(" ");
            (term, spaced.chars().map(fold).collect())
        })
        .collect();
    // Longest first, so "quality improvement" wins over "improvement".
    terms.sort_by_key(|(_, chars)| std::cmp::Reverse(chars.len()));
    if terms.is_empty() {
        return Vec::new();
    }

    let folded: Vec<(usize, char)> = text.char_indices().map(|(i, c)| (i, fold(c))).collect();
    let offset = |k: usize| folded.get(k).map_or(text.len(), |&(at, _)| at);
    let mut taken = vec![false; folded.len()];
    let mut found = Vec::new();
    for (term, chars) in &terms {
        let (first, last) = (chars[0], chars[chars.len() - 1]);
        let mut k = 0;
        while k < folded.len() {
            let starts_word = || k == 0 || !folded[k - 1].1.is_alphanumeric();
            let end = (folded[k].1 == first && (!first.is_alphanumeric() || starts_word()))
                .then(|| match_at(&folded, k, chars))
                .flatten()
                .filter(|&end| {
                    let ends_word = folded.get(end).is_none_or(|&(_, c)| !c.is_alphanumeric());
                    (ends_word || !last.is_alphanumeric()) && !taken[k..end].contains(&true)
                });
            let Some(end) = end else {
                k += 1;
                continue;
            };
            taken[k..end].fill(true);
            let (start, end_byte) = (offset(k), offset(end));
            found.push(JargonMatch {
                term: (*term).to_owned(),
                matched: text[start..end_byte].to_owned(),
                start,
                end: end_byte,
            });
            k = end;
        }
    }
    found.sort_by_key(|m| m.start);
    found
}

/// What the editor shows beside a participant-facing text: the figures and the highlighted text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlainLanguageReport {
    pub analysis: Analysis,
    /// The text, HTML-escaped, with the study's jargon wrapped in `<mark class="jargon">`.
    pub highlighted_html: String,
}

pub fn report(text: &str, jargon: &[String]) -> PlainLanguageReport {
    PlainLanguageReport {
        analysis: analyse(text, jargon),
        highlighted_html: highlight_jargon(text, jargon),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(list: &[&str]) -> Vec<String> {
        list.iter().map(|t| (*t).to_owned()).collect()
    }

    fn sentence_count(text: &str) -> usize {
        analyse(text, &[]).sentence_count
    }

    #[test]
    fn very_easy_reference_sentence() {
        let a = analyse("The cat sat on the mat.", &[]);
        assert_eq!(
            (a.word_count, a.sentence_count, a.syllable_count),
            (6, 1, 6)
        );
        // 206.835 - 1.015 * 6 - 84.6 * 1 = 116.1, clamped.
        assert_eq!(a.reading_ease, Some(100.0));
        assert_eq!(a.band, Some(ReadingBand::VeryEasy));
        // Grade -1.45 gives age 3.55, raised to the floor.
        assert_eq!(a.reading_age, Some(5));
    }

    #[test]
    fn short_plain_question_reference_figures() {
        let a = analyse("We will ask you some questions about your care.", &[]);
        assert_eq!((a.word_count, a.syllable_count), (9, 11));
        // 206.835 - 1.015 * 9 - 84.6 * 11 / 9 = 94.3; grade 2.34, so age 7.
        assert_eq!(a.reading_ease, Some(94.3));
        assert_eq!(a.band, Some(ReadingBand::VeryEasy));
        assert_eq!(a.reading_age, Some(7));
    }

    #[test]
    fn middling_reference_figures() {
        let text = "Please tell us about your experience of the hospital discharge process.";
        let a = analyse(text, &[]);
        assert_eq!((a.word_count, a.syllable_count), (11, 19));
        // 206.835 - 1.015 * 11 - 84.6 * 19 / 11 = 49.54; grade 9.08, so age 14.
        assert_eq!(a.reading_ease, Some(49.5));
        assert_eq!(a.band, Some(ReadingBand::Hard));
        assert_eq!(a.reading_age, Some(14));
    }

    #[test]
    fn bureaucratic_nhs_sentence_is_very_hard() {
        let text = "In accordance with the organisational governance framework, all stakeholders \
                    are required to facilitate the implementation of evidence-based quality \
                    improvement methodologies across integrated care pathways.";
        let a = analyse(text, &[]);
        assert_eq!(a.sentence_count, 1);
        assert_eq!(a.band, Some(ReadingBand::VeryHard));
        assert!(a.reading_ease.is_some_and(|e| e < 10.0), "{a:?}");
        assert_eq!(a.reading_age, Some(MAX_READING_AGE));
    }

    #[test]
    fn bands_follow_flesch_table() {
        let cases = [
            (100.0, ReadingBand::VeryEasy),
            (90.0, ReadingBand::VeryEasy),
            (89.9, ReadingBand::Easy),
            (75.0, ReadingBand::FairlyEasy),
            (60.0, ReadingBand::Standard),
            (55.0, ReadingBand::FairlyHard),
            (30.0, ReadingBand::Hard),
            (29.9, ReadingBand::VeryHard),
            (0.0, ReadingBand::VeryHard),
        ];
        for (ease, band) in cases {
            assert_eq!(ReadingBand::of(ease), band, "{ease}");
        }
    }

    #[test]
    fn syllable_counts_of_words() {
        let cases = [
            ("cat", 1),
            ("the", 1),
            ("are", 1),
            ("whole", 1),
            ("table", 2),
            ("little", 2),
            ("people", 2),
            ("centre", 2),
            ("centred", 2),
            ("asked", 1),
            ("used", 1),
            ("called", 1),
            ("signed", 1),
            ("wanted", 2),
            ("offered", 2),
            ("hundred", 2),
            ("enabled", 3),
            ("completed", 3),
            ("created", 3),
            ("create", 2),
            ("reach", 1),
            ("idea", 3),
            ("area", 3),
            ("makes", 1),
            ("times", 1),
            ("eyes", 1),
            ("nurses", 2),
            ("changes", 2),
            ("wishes", 2),
            ("tables", 2),
            ("services", 3),
            ("being", 2),
            ("doing", 2),
            ("studying", 3),
            ("saying", 2),
            ("wellbeing", 3),
            ("player", 2),
            ("beyond", 2),
            ("yes", 1),
            ("happy", 2),
            ("usually", 4),
            ("individual", 5),
            ("evaluation", 5),
            ("period", 3),
            ("ratio", 3),
            ("nation", 2),
            ("question", 2),
            ("previous", 3),
            ("precious", 2),
            ("social", 2),
            ("media", 3),
            ("medium", 3),
            ("video", 3),
            ("experience", 4),
            ("patient", 2),
            ("client", 2),
            ("quiet", 2),
            ("society", 4),
            ("easier", 3),
            ("happiest", 3),
            ("fluent", 2),
            ("influence", 3),
            ("continued", 3),
            ("value", 2),
            ("argue", 2),
            ("colleague", 2),
            ("unique", 2),
            ("management", 3),
            ("improvement", 3),
            ("statement", 2),
            ("element", 3),
            ("completely", 3),
            ("useful", 2),
            ("awareness", 3),
            ("autism", 3),
            ("questionnaire", 3),
            ("questionnaires", 3),
            ("participant", 4),
            ("confidential", 4),
            ("anonymous", 4),
            ("information", 4),
            ("someone", 2),
            ("everyone", 3),
            ("something", 2),
            ("sometimes", 2),
            ("therefore", 2),
            ("carers", 2),
            ("caregiver", 3),
            ("business", 2),
            ("café", 2),
            ("don't", 1),
            ("don’t", 1),
            ("you're", 1),
            ("co-production", 4),
            ("co-design", 3),
            ("NHS", 3),
            ("QI", 2),
            ("GP", 2),
            ("PDSA", 4),
            ("COM-B", 2),
            ("NICE", 1),
            ("COVID-19", 4),
            ("PLEASE", 1),
            ("IS", 1),
            ("e.g.", 2),
            ("Dr", 2),
            ("7", 1),
            ("2024", 4),
            ("1st", 1),
            ("中文", 2),
            ("“Hello,”", 2),
        ];
        let wrong: Vec<_> = cases
            .iter()
            .filter(|(word, n)| token_syllables(word) != *n)
            .map(|(word, n)| format!("{word}: expected {n}, got {}", token_syllables(word)))
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn sentences_split_on_terminators_not_abbreviations() {
        assert_eq!(sentence_count("Stop. Go! Really?! Yes."), 4);
        assert_eq!(
            sentence_count("Bring something to read, e.g. a book. Dr. Patel will see you."),
            2
        );
        assert_eq!(
            sentence_count("Please see Dr A. Patel first. Then wait."),
            2
        );
        assert_eq!(
            sentence_count("Take 2.5 ml twice a day. Ask us, i.e. the nurses."),
            2
        );
        assert_eq!(
            sentence_count("Forms, leaflets, etc. are free. Posters etc. Also cups."),
            3
        );
        assert_eq!(sentence_count("Visit nhs.uk for more. Thanks…"), 2);
        assert_eq!(
            sentence_count("Approved (REC ref. 23/YH/0123). Call ext. 4567."),
            2
        );
        assert_eq!(sentence_count("“Are you well?” she asked. “Yes.”"), 3);
        assert_eq!(sentence_count("no terminator at all"), 1);
        assert_eq!(sentence_count("... !!! ?"), 0);
    }

    #[test]
    fn sentences_split_on_paragraphs_and_list_items_not_wrapped_lines() {
        assert_eq!(sentence_count("Your rights\n\nYou can stop at any time"), 2);
        assert_eq!(sentence_count("Your rights\r\n\r\nYou can stop"), 2);
        assert_eq!(
            sentence_count("We will ask you about\nyour care and your\nNHS trust."),
            1
        );
        let list =
            "You can:\n- stop at any time\n- ask questions\n• have a break\n1. Phone us\n2) write";
        let a = analyse(list, &[]);
        assert_eq!(a.sentence_count, 6);
        // List markers are not words.
        assert_eq!(a.word_count, 14);
    }

    #[test]
    fn longest_sentence_has_text_range_and_word_count() {
        let text = "Hello.\n\n- You can stop at any time, without giving a reason. Thanks!";
        let a = analyse(text, &[]);
        let longest = a.longest_sentence.expect("longest");
        assert_eq!(
            longest.text,
            "You can stop at any time, without giving a reason."
        );
        assert_eq!(longest.word_count, 10);
        assert_eq!(&text[longest.start..longest.end], longest.text);
        let tie = analyse("One two. Three four.", &[])
            .longest_sentence
            .unwrap();
        assert_eq!(tie.text, "One two.");
    }

    fn passive(text: &str) -> Vec<String> {
        analyse(text, &[])
            .passive_hints
            .into_iter()
            .map(|h| {
                assert_eq!(&text[h.start..h.end], h.phrase);
                h.phrase
            })
            .collect()
    }

    #[test]
    fn passive_voice_found() {
        let text = "The form was completed by staff.";
        let a = analyse(text, &[]);
        assert_eq!(
            a.passive_hints,
            vec![PassiveHint {
                phrase: "was completed".into(),
                start: 9,
                end: 22,
            }]
        );
        assert_eq!(passive("You will be asked to sign."), ["be asked"]);
        assert_eq!(
            passive("Your data is being reviewed."),
            ["is being reviewed"]
        );
        assert_eq!(
            passive("They were not told, and it has been given back."),
            ["were not told", "been given"]
        );
        assert_eq!(passive("Are you given a leaflet?"), ["Are you given"]);
        assert_eq!(passive("You’re given a leaflet."), ["You’re given"]);
        assert_eq!(
            passive("It wasn't taken. It is run by the NHS."),
            ["wasn't taken", "is run"]
        );
        assert_eq!(passive("(It was written.)"), ["was written"]);
    }

    #[test]
    fn passive_voice_not_found() {
        assert!(passive("We completed the form.").is_empty());
        assert!(passive("This is the kitchen.").is_empty());
        assert!(passive("It is a shared space.").is_empty());
        assert!(passive("There is a need for more.").is_empty());
        assert!(passive("It is often open on Sundays.").is_empty());
        assert!(passive("The answer is, given the time, no.").is_empty());
        assert!(passive("That was it. Completed forms go here.").is_empty());
        assert!(passive("There were seven children.").is_empty());
    }

    fn jargon_in(text: &str, list: &[&str]) -> Vec<(String, String)> {
        analyse(text, &terms(list))
            .jargon
            .into_iter()
            .map(|m| {
                assert_eq!(&text[m.start..m.end], m.matched);
                (m.term, m.matched)
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(t, m)| ((*t).to_owned(), (*m).to_owned()))
            .collect()
    }

    #[test]
    fn jargon_matches_whole_words_case_insensitively() {
        assert_eq!(
            jargon_in("QUIT smoking with qi support; QI.", &["QI"]),
            pairs(&[("QI", "qi"), ("QI", "QI")])
        );
        assert_eq!(
            jargon_in("A QI-led project, the QI's aim.", &["QI"]).len(),
            2
        );
        assert!(jargon_in("Stakeholders and metric", &["stakeholder", "metrics"]).is_empty());
        assert_eq!(
            jargon_in("Using COM-B and com‑b, not COM or COMB.", &["COM-B"]),
            pairs(&[("COM-B", "COM-B"), ("COM-B", "com‑b")])
        );
        assert_eq!(
            jargon_in("Our Co-Production group", &["co-production"]),
            pairs(&[("co-production", "Co-Production")])
        );
    }

    #[test]
    fn jargon_prefers_longest_terms_without_overlap() {
        let text = "A quality\n  improvement plan; improvement cohort PDSA cycles.";
        let found = analyse(
            text,
            &terms(&[
                "improvement",
                " quality   improvement ",
                "PDSA",
                "PDSA cycles",
                "cohort",
                "",
                "  ",
                "--",
            ]),
        )
        .jargon;
        let summary: Vec<_> = found
            .iter()
            .map(|m| (m.term.as_str(), m.matched.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("quality   improvement", "quality\n  improvement"),
                ("improvement", "improvement"),
                ("cohort", "cohort"),
                ("PDSA cycles", "PDSA cycles"),
            ]
        );
        assert!(found.windows(2).all(|w| w[0].end <= w[1].start));
    }

    #[test]
    fn jargon_ranges_with_multibyte_text() {
        let text = "Café “QI” 😀 metrics—naïve";
        let found = analyse(text, &terms(&["qi", "metrics", "naïve", "café"])).jargon;
        let got: Vec<_> = found.iter().map(|m| (m.start, m.end)).collect();
        assert_eq!(got, [(0, 5), (9, 11), (20, 27), (30, 36)]);
        for m in &found {
            assert_eq!(&text[m.start..m.end], m.matched);
        }
    }

    #[test]
    fn html_escapes_everything_and_marks_jargon() {
        let list = terms(&["QI", "<b>"]);
        let html = highlight_jargon("<script>alert(\"QI & 'x'\")</script>\nQI", &list);
        assert_eq!(
            html,
            "&lt;script&gt;alert(&quot;<mark class=\"jargon\">QI</mark> &amp; &#x27;x&#x27;\
             &quot;)&lt;/script&gt;\n<mark class=\"jargon\">QI</mark>"
        );
        assert_eq!(
            highlight_jargon("naïve “QI” 😀", &list),
            "naïve “<mark class=\"jargon\">QI</mark>” 😀"
        );
        assert_eq!(highlight_jargon("", &list), "");
    }

    #[test]
    fn empty_and_blank_text_give_zeros() {
        for text in ["", "   ", "\n\t \r\n", "😀 — …"] {
            let a = analyse(text, &terms(&["QI"]));
            assert_eq!(
                a,
                Analysis {
                    word_count: 0,
                    sentence_count: 0,
                    syllable_count: 0,
                    reading_ease: None,
                    band: None,
                    reading_age: None,
                    longest_sentence: None,
                    passive_hints: vec![],
                    jargon: vec![],
                },
                "{text:?}"
            );
        }
    }

    #[test]
    fn serialises_for_templates_and_api() {
        let json =
            serde_json::to_value(analyse("The cat sat. Is it QI?", &terms(&["qi"]))).expect("json");
        assert_eq!(json["band"], "very easy");
        assert_eq!(json["reading_ease"], 100.0);
        assert_eq!(json["jargon"][0]["matched"], "QI");
        assert_eq!(json["longest_sentence"]["word_count"], 3);
        let empty = serde_json::to_value(analyse("", &[])).expect("json");
        assert!(empty["reading_ease"].is_null());
        assert_eq!(<Analysis as ToSchema>::name(), "PlainLanguageAnalysis");
    }

    /// xorshift64*: a fixed sequence, so a failure is repeatable without a dependency.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
        }
    }

    #[test]
    fn any_text_is_safe() {
        const PIECES: &[&str] = &[
            "was",
            "given",
            "is",
            "being",
            "the",
            "QI",
            "qi",
            "COM-B",
            "co-production",
            "e.g.",
            "Dr.",
            "A.",
            "1.",
            "-",
            "•",
            "?",
            "!",
            ".",
            "…",
            ",",
            "’",
            "'",
            "\"",
            "“",
            "”",
            "(",
            ")",
            " ",
            " ",
            "  ",
            "\n",
            "\n\n",
            "\r\n",
            "\t",
            "\u{2028}",
            "\u{2029}",
            "\u{a0}",
            "é",
            "e\u{301}",
            "İ",
            "ß",
            "ﬁ",
            "😀",
            "👩‍⚕️",
            "中文",
            "שלום",
            "\u{200b}",
            "\0",
            "<",
            ">",
            "&",
            "2.5",
            "1st",
            "ǅ",
            "ΣΑΣ",
            "y",
            "ye",
            "eed",
            "ied",
            "ing",
            "aeiou",
            "z",
        ];
        let jargon_pool = [
            "QI",
            "qi ",
            "COM-B",
            "co-production",
            "é",
            "İ",
            "i̇",
            "ß",
            "😀",
            "  ",
            "",
            "a b",
            "-",
            "e\u{301}",
            "given",
            "ΣΑΣ",
        ];
        let mut rng = Rng(0x5eed_cafe_f00d_d00d);
        for round in 0..3000 {
            let text: String = (0..rng.below(40))
                .map(|_| PIECES[rng.below(PIECES.len())])
                .collect();
            let list: Vec<String> = (0..rng.below(5))
                .map(|_| jargon_pool[rng.below(jargon_pool.len())].to_owned())
                .collect();
            let a = analyse(&text, &list);
            let context = format!("round {round}: {text:?} {list:?}");

            let on_boundaries = |start: usize, end: usize, slice: &str| {
                start <= end
                    && text.is_char_boundary(start)
                    && text.is_char_boundary(end)
                    && &text[start..end] == slice
            };
            for h in &a.passive_hints {
                assert!(on_boundaries(h.start, h.end, &h.phrase), "{context}");
            }
            for m in &a.jargon {
                assert!(
                    on_boundaries(m.start, m.end, &m.matched) && m.start < m.end,
                    "{context}"
                );
            }
            assert!(
                a.jargon.windows(2).all(|w| w[0].end <= w[1].start),
                "{context}"
            );
            if let Some(l) = &a.longest_sentence {
                assert!(on_boundaries(l.start, l.end, &l.text), "{context}");
                assert!(l.word_count <= a.word_count, "{context}");
            }
            assert!(a.sentence_count <= a.word_count, "{context}");
            assert!(a.syllable_count >= a.word_count, "{context}");
            assert_eq!(a.reading_ease.is_some(), a.word_count > 0, "{context}");
            if let Some(e) = a.reading_ease {
                assert!(e.is_finite() && (0.0..=100.0).contains(&e), "{context}");
            }
            if let Some(age) = a.reading_age {
                assert!(
                    (MIN_READING_AGE..=MAX_READING_AGE).contains(&age),
                    "{context}"
                );
            }

            let html = highlight_jargon(&text, &list);
            let bare = html
                .replace("<mark class=\"jargon\">", "")
                .replace("</mark>", "");
            assert!(!bare.contains(['<', '>', '"', '\'']), "{context}");
            assert_eq!(html.matches("<mark").count(), a.jargon.len(), "{context}");
        }
    }
}
