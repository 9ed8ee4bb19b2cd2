//! Inter-coder agreement for qualitative coding, as NVivo's coding comparison computes it, with no
//! storage or HTTP: percentage agreement and Cohen's kappa, κ = (Po − Pe) / (1 − Pe), for one code,
//! per code with a pooled overall figure, and the ranges where the two coders differ.
//!
//! Offsets are counted in chars (Unicode scalar values), end exclusive, because that is what an
//! analyst selects in the browser and what survives a round trip through any encoding; the UTF-8
//! helpers at the bottom turn them into byte positions only at the edge.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Every char of every source is one unit, as NVivo does for text: long passages weigh more.
    Character,
    /// Each source (an answer's text) is one unit, coded by a coder if any char of it carries the
    /// code: for short answers, where where-exactly matters less than whether at all.
    Source,
}

/// One passage a coder coded: chars `start..end` of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub source: i64,
    pub start: usize,
    pub end: usize,
}

/// The two-by-two table of one comparison and the figures drawn from it.
///
/// The counts are kept, not only the ratios, so tables can be pooled exactly and a reader can check
/// the arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Agreement {
    pub units: u64,
    pub both: u64,
    pub first_only: u64,
    pub second_only: u64,
    pub neither: u64,
    /// 0–100. With no units at all this is 100: there is nothing the coders differ on, and `kappa`
    /// being `None` is what says there was nothing to compare.
    pub percent: f64,
    /// Cohen's kappa; `None` only when there are no units.
    ///
    /// When the coders agree on every unit this is 1, as NVivo reports it, even where Pe is also 1
    /// (nobody coded anything, or both coded everything) and the formula alone would be 0/0. Pe can
    /// only reach 1 when both coders' marginals are all-or-nothing and equal, which means Po is 1 as
    /// well, so no other case is undefined.
    pub kappa: Option<f64>,
}

impl Agreement {
    /// The figures for a table of counts.
    pub fn from_counts(both: u64, first_only: u64, second_only: u64, neither: u64) -> Agreement {
        let units = both + first_only + second_only + neither;
        let agreed = both + neither;
        let (percent, kappa) = if units == 0 {
            (100.0, None)
        } else if agreed == units {
            (100.0, Some(1.0))
        } else {
            // Po and Pe scaled by n² and kept in integers up to the one division, so the NVivo
            // example comes out as exactly 7/22 and a huge table loses nothing to rounding.
            let n = u128::from(units);
            let first = u128::from(both + first_only);
            let second = u128::from(both + second_only);
            let observed = u128::from(agreed) * n;
            let chance = first * second + (n - first) * (n - second);
            let above_chance = if observed >= chance {
                (observed - chance) as f64
            } else {
                -((chance - observed) as f64)
            };
            let kappa = above_chance / ((n * n - chance) as f64);
            (agreed as f64 * 100.0 / units as f64, Some(kappa))
        };
        Agreement {
            units,
            both,
            first_only,
            second_only,
            neither,
            percent,
            kappa,
        }
    }

    fn add(self, other: Agreement) -> Agreement {
        Agreement::from_counts(
            self.both + other.both,
            self.first_only + other.first_only,
            self.second_only + other.second_only,
            self.neither + other.neither,
        )
    }
}

/// Which coder applied a code the other did not.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Coder {
    First,
    Second,
}

/// A range only one coder coded, for showing the two codings side by side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disagreement {
    pub source: i64,
    pub start: usize,
    pub end: usize,
    pub coder: Coder,
}

/// One code's comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CodeAgreement {
    pub code: i64,
    pub agreement: Agreement,
}

/// Every code's comparison and the overall figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CodeReport {
    /// In code id order.
    pub codes: Vec<CodeAgreement>,
    /// The pooled table: each code's counts summed, then percent and kappa taken from the sum.
    ///
    /// NVivo's own overall figure is an average of per-source figures weighted by source size. The
    /// pooled table gives every unit the same weight too, but stays a real two-by-two table whose
    /// counts a reader can check, and its kappa is defined whenever there is anything to compare,
    /// where an average would have to decide what an undefined kappa contributes.
    pub overall: Agreement,
}

/// Agreement on one code between two coders, over every source in `source_lengths`.
///
/// A coder's overlapping spans are merged, since coding a char twice still codes it once. Spans
/// are clamped to their source's length, because a source edited after coding must not count chars
/// it no longer has; spans on sources not listed are ignored, so the caller chooses the scope. A
/// source listed twice counts once, at its first length.
pub fn agreement(
    unit: Unit,
    source_lengths: &[(i64, usize)],
    first: &[Span],
    second: &[Span],
) -> Agreement {
    let lengths = lengths(source_lengths);
    compare(
        unit,
        &lengths,
        &coverage(&lengths, first),
        &coverage(&lengths, second),
    )
}

/// Agreement per code, from each coder's codings as (code id, span), with the pooled overall.
///
/// Only codes that at least one coder applied somewhere in scope are compared: a code nobody used
/// would add nothing but "neither" units and lift the overall figure for no reason.
pub fn per_code(
    unit: Unit,
    source_lengths: &[(i64, usize)],
    first: &[(i64, Span)],
    second: &[(i64, Span)],
) -> CodeReport {
    let lengths = lengths(source_lengths);
    let mut by_code: BTreeMap<i64, (Vec<Span>, Vec<Span>)> = BTreeMap::new();
    for &(code, span) in first {
        by_code.entry(code).or_default().0.push(span);
    }
    for &(code, span) in second {
        by_code.entry(code).or_default().1.push(span);
    }
    let mut codes = Vec::new();
    let mut overall = Agreement::from_counts(0, 0, 0, 0);
    for (code, (a, b)) in by_code {
        let (a, b) = (coverage(&lengths, &a), coverage(&lengths, &b));
        if a.is_empty() && b.is_empty() {
            continue;
        }
        let agreement = compare(unit, &lengths, &a, &b);
        overall = overall.add(agreement);
        codes.push(CodeAgreement { code, agreement });
    }
    CodeReport { codes, overall }
}

/// Where exactly one coder applied the code, by source then position, with the same merging,
/// clamping and scope as [`agreement`].
///
/// With [`Unit::Character`] the ranges' lengths add up to `first_only + second_only`; with
/// [`Unit::Source`] each range is a whole source and there are `first_only + second_only` of them,
/// so the view always shows what the figures counted.
pub fn disagreements(
    unit: Unit,
    source_lengths: &[(i64, usize)],
    first: &[Span],
    second: &[Span],
) -> Vec<Disagreement> {
    let lengths = lengths(source_lengths);
    let (a, b) = (coverage(&lengths, first), coverage(&lengths, second));
    let mut out = Vec::new();
    for (&source, &len) in &lengths {
        let a = a.get(&source).map_or(&[][..], Vec::as_slice);
        let b = b.get(&source).map_or(&[][..], Vec::as_slice);
        let mut ranges: Vec<(usize, usize, Coder)> = match unit {
            Unit::Character => {
                let firsts = difference(a, b)
                    .into_iter()
                    .map(|(s, e)| (s, e, Coder::First));
                let seconds = difference(b, a)
                    .into_iter()
                    .map(|(s, e)| (s, e, Coder::Second));
                firsts.chain(seconds).collect()
            }
            Unit::Source => match (a.is_empty(), b.is_empty()) {
                (false, true) => vec![(0, len, Coder::First)],
                (true, false) => vec![(0, len, Coder::Second)],
                _ => Vec::new(),
            },
        };
        // A-only and B-only ranges never overlap, so ordering by start alone is total.
        ranges.sort_unstable();
        out.extend(ranges.into_iter().map(|(start, end, coder)| Disagreement {
            source,
            start,
            end,
            coder,
        }));
    }
    out
}

/// The byte position of a char offset; the offset just past the last char gives `text.len()`.
pub fn char_to_byte(text: &str, char_offset: usize) -> Option<usize> {
    text.char_indices()
        .map(|(byte, _)| byte)
        .chain(std::iter::once(text.len()))
        .nth(char_offset)
}

/// Chars `start..end` of `text`, or `None` if the range is backwards or runs past the end, so a
/// stale offset is noticed rather than quietly shown as some other passage.
pub fn slice_chars(text: &str, start: usize, end: usize) -> Option<&str> {
    if start > end {
        return None;
    }
    let from = char_to_byte(text, start)?;
    let to = from + char_to_byte(&text[from..], end - start)?;
    Some(&text[from..to])
}

type Lengths = BTreeMap<i64, usize>;
/// Per source, sorted disjoint non-empty `(start, end)` ranges.
type Coverage = BTreeMap<i64, Vec<(usize, usize)>>;

fn lengths(source_lengths: &[(i64, usize)]) -> Lengths {
    let mut lengths = Lengths::new();
    for &(source, len) in source_lengths {
        lengths.entry(source).or_insert(len);
    }
    lengths
}

/// A coder's spans as merged ranges per listed source; a source with nothing left after clamping is
/// absent, so "absent" and "not coded" are the same thing.
fn coverage(lengths: &Lengths, spans: &[Span]) -> Coverage {
    let mut raw: Coverage = BTreeMap::new();
    for span in spans {
        let Some(&len) = lengths.get(&span.source) else {
            continue;
        };
        let end = span.end.min(len);
        if span.start < end {
            raw.entry(span.source).or_default().push((span.start, end));
        }
    }
    for ranges in raw.values_mut() {
        ranges.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
        for &(start, end) in ranges.iter() {
            match merged.last_mut() {
                // Touching ranges merge too: 0..5 and 5..9 are the same chars as 0..9.
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        *ranges = merged;
    }
    raw
}

fn compare(unit: Unit, lengths: &Lengths, a: &Coverage, b: &Coverage) -> Agreement {
    let (mut both, mut first_only, mut second_only, mut neither) = (0u64, 0u64, 0u64, 0u64);
    for (source, &len) in lengths {
        let a = a.get(source).map_or(&[][..], Vec::as_slice);
        let b = b.get(source).map_or(&[][..], Vec::as_slice);
        match unit {
            Unit::Character => {
                let (len, a_total, b_total) = (len as u64, total(a), total(b));
                let shared = total(&intersection(a, b));
                both += shared;
                first_only += a_total - shared;
                second_only += b_total - shared;
                neither += len - (a_total + b_total - shared);
            }
            Unit::Source => match (!a.is_empty(), !b.is_empty()) {
                (true, true) => both += 1,
                (true, false) => first_only += 1,
                (false, true) => second_only += 1,
                (false, false) => neither += 1,
            },
        }
    }
    Agreement::from_counts(both, first_only, second_only, neither)
}

fn total(ranges: &[(usize, usize)]) -> u64 {
    ranges.iter().map(|&(s, e)| (e - s) as u64).sum()
}

fn intersection(a: &[(usize, usize)], b: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let start = a[i].0.max(b[j].0);
        let end = a[i].1.min(b[j].1);
        if start < end {
            out.push((start, end));
        }
        // Drop whichever range ends first; the other may still overlap the next one.
        if a[i].1 <= b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The parts of `a` not in `b`.
fn difference(a: &[(usize, usize)], b: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut j = 0;
    for &(start, end) in a {
        let mut from = start;
        // Ranges of `b` ending before this one starts cannot touch it or any later one.
        while j < b.len() && b[j].1 <= start {
            j += 1;
        }
        let mut k = j;
        while k < b.len() && b[k].0 < end {
            if b[k].0 > from {
                out.push((from, b[k].0));
            }
            from = from.max(b[k].1);
            k += 1;
        }
        if from < end {
            out.push((from, end));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(source: i64, start: usize, end: usize) -> Span {
        Span { source, start, end }
    }

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() < 5e-5
    }

    fn counts(a: &Agreement) -> (u64, u64, u64, u64, u64) {
        (a.units, a.both, a.first_only, a.second_only, a.neither)
    }

    #[test]
    fn nvivo_worked_example() {
        // A codes 0..150, B codes 100..200 of a 1,000-char source:
        //   both 100..150 = 50; A only 0..100 = 100; B only 150..200 = 50 (150 by one only);
        //   neither 200..1000 = 800.
        // Po = 850/1000 = 0.85.
        // Pe = (150/1000)(100/1000) + (850/1000)(900/1000) = 0.015 + 0.765 = 0.78.
        // κ = (0.85 − 0.78)/(1 − 0.78) = 0.07/0.22 = 7/22 ≈ 0.3182.
        let a = agreement(
            Unit::Character,
            &[(1, 1000)],
            &[span(1, 0, 150)],
            &[span(1, 100, 200)],
        );
        assert_eq!(counts(&a), (1000, 50, 100, 50, 800));
        assert!(close(a.percent, 85.0));
        let kappa = a.kappa.unwrap();
        assert!(close(kappa, 0.3182));
        assert!((kappa - 7.0 / 22.0).abs() < 1e-12);
    }

    #[test]
    fn full_agreement_is_kappa_one() {
        let same = [span(1, 10, 40), span(2, 0, 5)];
        let a = agreement(Unit::Character, &[(1, 100), (2, 50)], &same, &same);
        assert_eq!(counts(&a), (150, 35, 0, 0, 115));
        assert_eq!((a.percent, a.kappa), (100.0, Some(1.0)));

        // Pe = 1 here, yet both agree on every char: NVivo reports 1, and so do we.
        let nobody = agreement(Unit::Character, &[(1, 100)], &[], &[]);
        assert_eq!(counts(&nobody), (100, 0, 0, 0, 100));
        assert_eq!((nobody.percent, nobody.kappa), (100.0, Some(1.0)));
        let everything = [span(1, 0, 100)];
        let all = agreement(Unit::Character, &[(1, 100)], &everything, &everything);
        assert_eq!((all.percent, all.kappa), (100.0, Some(1.0)));
    }

    #[test]
    fn nothing_to_compare_has_no_kappa() {
        let a = agreement(Unit::Character, &[], &[span(1, 0, 5)], &[]);
        assert_eq!(counts(&a), (0, 0, 0, 0, 0));
        assert_eq!((a.percent, a.kappa), (100.0, None));
    }

    #[test]
    fn total_disagreement() {
        // A codes the first half, B the second: Po = 0, Pe = 0.5·0.5 + 0.5·0.5 = 0.5,
        // κ = (0 − 0.5)/(1 − 0.5) = −1.
        let a = agreement(
            Unit::Character,
            &[(1, 1000)],
            &[span(1, 0, 500)],
            &[span(1, 500, 1000)],
        );
        assert_eq!(counts(&a), (1000, 0, 500, 500, 0));
        assert_eq!(a.percent, 0.0);
        assert!(close(a.kappa.unwrap(), -1.0));

        // One coder codes a little the other does not: Po = 0.9, Pe = 0·0.1 + 1·0.9 = 0.9, κ = 0.
        let b = agreement(Unit::Character, &[(1, 100)], &[span(1, 0, 10)], &[]);
        assert!(close(b.percent, 90.0));
        assert!(close(b.kappa.unwrap(), 0.0));
    }

    #[test]
    fn one_coders_overlapping_spans_are_merged() {
        // 0..100, 50..150, 140..150 and the touching 150..160 are the single range 0..160.
        let first = [
            span(1, 50, 150),
            span(1, 0, 100),
            span(1, 140, 150),
            span(1, 150, 160),
        ];
        let a = agreement(Unit::Character, &[(1, 1000)], &first, &[span(1, 0, 160)]);
        assert_eq!(counts(&a), (1000, 160, 0, 0, 840));
        assert_eq!(a.kappa, Some(1.0));
    }

    #[test]
    fn spans_are_clamped_and_bad_ones_ignored() {
        // 900..2000 clamps to 900..1000; 1200..1300 lies past the end; 30..20 is backwards;
        // 5..5 is empty; the span on source 9 is out of scope.
        let first = [
            span(1, 900, 2000),
            span(1, 1200, 1300),
            span(1, 30, 20),
            span(1, 5, 5),
            span(9, 0, 500),
        ];
        let a = agreement(Unit::Character, &[(1, 1000)], &first, &[span(1, 950, 1000)]);
        assert_eq!(counts(&a), (1000, 50, 50, 0, 900));
    }

    #[test]
    fn a_source_listed_twice_counts_once() {
        let a = agreement(
            Unit::Character,
            &[(1, 100), (1, 400)],
            &[span(1, 0, 200)],
            &[],
        );
        assert_eq!(counts(&a), (100, 0, 100, 0, 0));
    }

    #[test]
    fn source_unit_counts_sources() {
        // A codes sources 1 and 2, B codes 2 and 3, nobody codes 4; B's span on 9 is out of scope.
        // Po = 2/4 = 0.5; Pe = 0.5·0.5 + 0.5·0.5 = 0.5; κ = 0.
        let lengths = [(1, 100), (2, 20), (3, 5), (4, 50)];
        let first = [span(1, 0, 1), span(2, 3, 4), span(2, 10, 12)];
        let second = [span(2, 15, 20), span(3, 0, 5), span(9, 0, 5), span(4, 7, 7)];
        let a = agreement(Unit::Source, &lengths, &first, &second);
        assert_eq!(counts(&a), (4, 1, 1, 1, 1));
        assert!(close(a.percent, 50.0));
        assert!(close(a.kappa.unwrap(), 0.0));
        // The same codings by char differ: source 2 overlaps nowhere.
        let c = agreement(Unit::Character, &lengths, &first, &second);
        assert_eq!(counts(&c), (175, 0, 4, 10, 161));
    }

    #[test]
    fn multibyte_offsets_are_chars() {
        let text = "Zoë said “no”";
        assert_eq!(text.chars().count(), 13);
        assert_eq!(text.len(), 18);
        assert_eq!(slice_chars(text, 0, 3), Some("Zoë"));
        assert_eq!(slice_chars(text, 10, 12), Some("no"));
        assert_eq!(slice_chars(text, 9, 13), Some("“no”"));
        assert_eq!(slice_chars(text, 13, 13), Some(""));
        assert_eq!(slice_chars(text, 12, 14), None);
        assert_eq!(slice_chars(text, 4, 3), None);
        // Z o ë(2) " said " is 10 bytes for 9 chars; “ is 3 bytes, so "n" starts at byte 13.
        assert_eq!(char_to_byte(text, 3), Some(4));
        assert_eq!(char_to_byte(text, 10), Some(13));
        assert_eq!(char_to_byte(text, 13), Some(18));
        assert_eq!(char_to_byte(text, 14), None);

        // A codes "no", B codes the quote marks too.
        let len = text.chars().count();
        let (first, second) = ([span(7, 10, 12)], [span(7, 9, 13)]);
        let a = agreement(Unit::Character, &[(7, len)], &first, &second);
        assert_eq!(counts(&a), (13, 2, 0, 2, 9));
        let shown: Vec<&str> = disagreements(Unit::Character, &[(7, len)], &first, &second)
            .iter()
            .map(|d| slice_chars(text, d.start, d.end).unwrap())
            .collect();
        assert_eq!(shown, ["“", "”"]);
    }

    #[test]
    fn per_code_pools_the_tables() {
        // Code 1 is the NVivo example (50, 100, 50, 800); code 2 the coders agree on (100, 0, 0, 900);
        // code 3 was only applied out of scope, so it is left out.
        // Pooled: n = 2000, both 150, A only 100, B only 50, neither 1700; Po = 1850/2000 = 0.925.
        // A coded 250, B 200: Pe = (250·200 + 1750·1800)/2000² = 3,200,000/4,000,000 = 0.8.
        // κ = (0.925 − 0.8)/(1 − 0.8) = 0.625; the mean of the two kappas would be 0.6591.
        let first = [
            (2, span(1, 0, 100)),
            (1, span(1, 0, 150)),
            (3, span(9, 0, 10)),
        ];
        let second = [(1, span(1, 100, 200)), (2, span(1, 0, 100))];
        let report = per_code(Unit::Character, &[(1, 1000)], &first, &second);
        let ids: Vec<i64> = report.codes.iter().map(|c| c.code).collect();
        assert_eq!(ids, [1, 2]);
        assert_eq!(counts(&report.codes[0].agreement), (1000, 50, 100, 50, 800));
        assert_eq!(counts(&report.codes[1].agreement), (1000, 100, 0, 0, 900));
        assert_eq!(report.codes[1].agreement.kappa, Some(1.0));
        assert_eq!(counts(&report.overall), (2000, 150, 100, 50, 1700));
        assert!(close(report.overall.percent, 92.5));
        assert!(close(report.overall.kappa.unwrap(), 0.625));

        let none = per_code(Unit::Character, &[(1, 1000)], &[], &[]);
        assert!(none.codes.is_empty());
        assert_eq!(none.overall.kappa, None);
    }

    #[test]
    fn per_code_by_source() {
        // Code 5: both coded source 1, only A source 2. Code 6: only B coded source 2.
        // Pooled over 2 sources × 2 codes: both 1, A only 1, B only 1, neither 1.
        let lengths = [(1, 10), (2, 10)];
        let first = [(5, span(1, 0, 2)), (5, span(2, 4, 6))];
        let second = [(5, span(1, 8, 10)), (6, span(2, 0, 10))];
        let report = per_code(Unit::Source, &lengths, &first, &second);
        assert_eq!(counts(&report.codes[0].agreement), (2, 1, 1, 0, 0));
        assert_eq!(counts(&report.codes[1].agreement), (2, 0, 0, 1, 1));
        assert_eq!(counts(&report.overall), (4, 1, 1, 1, 1));
    }

    #[test]
    fn disagreements_list_one_coder_ranges() {
        let d = disagreements(
            Unit::Character,
            &[(1, 1000)],
            &[span(1, 0, 150)],
            &[span(1, 100, 200)],
        );
        assert_eq!(
            d,
            [
                Disagreement {
                    source: 1,
                    start: 0,
                    end: 100,
                    coder: Coder::First
                },
                Disagreement {
                    source: 1,
                    start: 150,
                    end: 200,
                    coder: Coder::Second
                },
            ]
        );

        // Interleaved ranges over two sources, in source then position order; agreed parts and the
        // out-of-scope source 9 do not appear.
        let lengths = [(2, 50), (1, 100)];
        let first = [
            span(1, 0, 30),
            span(1, 60, 70),
            span(2, 0, 50),
            span(9, 0, 5),
        ];
        let second = [span(1, 10, 20), span(1, 25, 65), span(2, 10, 20)];
        let d = disagreements(Unit::Character, &lengths, &first, &second);
        let got: Vec<(i64, usize, usize, Coder)> = d
            .iter()
            .map(|d| (d.source, d.start, d.end, d.coder))
            .collect();
        assert_eq!(
            got,
            [
                (1, 0, 10, Coder::First),
                (1, 20, 25, Coder::First),
                (1, 30, 60, Coder::Second),
                (1, 65, 70, Coder::First),
                (2, 0, 10, Coder::First),
                (2, 20, 50, Coder::First),
            ]
        );
        // They add up to what the table counts as one-coder-only.
        let a = agreement(Unit::Character, &lengths, &first, &second);
        let firsts: usize = d
            .iter()
            .filter(|d| d.coder == Coder::First)
            .map(|d| d.end - d.start)
            .sum();
        let seconds: usize = d
            .iter()
            .filter(|d| d.coder == Coder::Second)
            .map(|d| d.end - d.start)
            .sum();
        assert_eq!(
            (firsts as u64, seconds as u64),
            (a.first_only, a.second_only)
        );

        // By source, a disagreement is a whole source.
        let d = disagreements(
            Unit::Source,
            &lengths,
            &[span(1, 5, 6)],
            &[span(1, 50, 60), span(2, 1, 2)],
        );
        assert_eq!(
            d,
            [Disagreement {
                source: 2,
                start: 0,
                end: 50,
                coder: Coder::Second
            }]
        );
    }
    #[test]
    fn matches_a_char_by_char_count() {
        // Pseudo-random spans (fixed seed) checked against marking every char in a plain array.
        let mut seed: u64 = 0x5eed;
        let mut next = |bound: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((seed >> 33) as usize) % bound
        };
        for _ in 0..200 {
            let lengths = [(1, next(60)), (2, next(60))];
            let mut spans = [Vec::new(), Vec::new()];
            // Per source, per char: (coded by A, coded by B).
            let mut marks: Vec<Vec<(bool, bool)>> = lengths
                .iter()
                .map(|&(_, len)| vec![(false, false); len])
                .collect();
            for (coder, list) in spans.iter_mut().enumerate() {
                for _ in 0..next(6) {
                    let (source, start, end) = (1 + next(2) as i64, next(70), next(80));
                    list.push(span(source, start, end));
                    for mark in marks[source as usize - 1].iter_mut().take(end).skip(start) {
                        if coder == 0 {
                            mark.0 = true;
                        } else {
                            mark.1 = true;
                        }
                    }
                }
            }
            let (mut both, mut a_only, mut b_only, mut neither) = (0, 0, 0, 0);
            for &mark in marks.iter().flatten() {
                match mark {
                    (true, true) => both += 1,
                    (true, false) => a_only += 1,
                    (false, true) => b_only += 1,
                    (false, false) => neither += 1,
                }
            }
            let a = agreement(Unit::Character, &lengths, &spans[0], &spans[1]);
            assert_eq!(
                (a.both, a.first_only, a.second_only, a.neither),
                (both, a_only, b_only, neither)
            );
            let d = disagreements(Unit::Character, &lengths, &spans[0], &spans[1]);
            for x in &d {
                let s = x.source as usize - 1;
                let want = (x.coder == Coder::First, x.coder == Coder::Second);
                assert!(x.start < x.end);
                assert!(marks[s][x.start..x.end].iter().all(|&mark| mark == want));
            }
            let listed: u64 = d.iter().map(|x| (x.end - x.start) as u64).sum();
            assert_eq!(listed, a.first_only + a.second_only);
        }
    }
}
