//! The framework matrix and its tables, computed from coded passages: rows are participants or
//! groups of them, columns COM-B sub-components (or codes) split into barriers and enablers. No
//! storage here.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::distribution::participants::rules::{choices, simplify, vocabulary, Choice};

vocabulary!(
    /// What a matrix row stands for.
    RowsBy {
        Participant => "participant", "Participant";
        Group => "group", "Group";
        Service => "service", "Service";
        Level => "level", "Level";
    }
);

vocabulary!(
    /// What the matrix columns are.
    ColumnsBy {
        Comb => "comb", "COM-B sub-components";
        Codes => "codes", "Codes";
    }
);

/// The two sides of a column. A mixed passage counts on both; a neutral one on neither.
pub const SIDES: [&str; 2] = ["barrier", "enabler"];

/// A coded passage with everything the matrix groups it by, codes already resolved through merges.
#[derive(Debug, Clone)]
pub struct Passage {
    pub coding_id: i64,
    pub response_id: i64,
    pub answer_id: i64,
    pub participant: String,
    pub group: String,
    pub service: String,
    pub level: String,
    pub code_id: i64,
    /// The COM-B sub-component the code (or the nearest code above it) maps to, or "".
    pub comb: String,
    pub valence: String,
}

impl Passage {
    pub fn row(&self, by: RowsBy) -> String {
        match by {
            RowsBy::Participant => self.participant.clone(),
            RowsBy::Group => self.group.clone(),
            RowsBy::Service => self.service.clone(),
            RowsBy::Level => self.level.clone(),
        }
    }

    pub fn column(&self, by: ColumnsBy) -> Option<String> {
        match by {
            ColumnsBy::Comb => (!self.comb.is_empty()).then(|| self.comb.clone()),
            ColumnsBy::Codes => Some(self.code_id.to_string()),
        }
    }

    /// The sides of a column this passage counts on.
    pub fn sides(&self) -> &'static [&'static str] {
        match self.valence.as_str() {
            "barrier" => &SIDES[..1],
            "enabler" => &SIDES[1..],
            "mixed" => &SIDES,
            _ => &[],
        }
    }
}

/// One cell as counted: passages and distinct participants, and the passages' codings for the quotes.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub passages: usize,
    pub participants: usize,
    pub codings: Vec<i64>,
}

/// Counts per (row, column, side), rows and columns in the order given.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub cells: BTreeMap<(String, String, &'static str), Tally>,
}

pub fn count(passages: &[Passage], rows: RowsBy, columns: ColumnsBy) -> Counts {
    let mut people: HashMap<(String, String, &'static str), BTreeSet<i64>> = HashMap::new();
    let mut counts = Counts::default();
    for passage in passages {
        let Some(column) = passage.column(columns) else {
            continue;
        };
        for &side in passage.sides() {
            let key = (passage.row(rows), column.clone(), side);
            let cell = counts.cells.entry(key.clone()).or_default();
            cell.passages += 1;
            cell.codings.push(passage.coding_id);
            people.entry(key).or_default().insert(passage.response_id);
        }
    }
    for (key, who) in people {
        if let Some(cell) = counts.cells.get_mut(&key) {
            cell.participants = who.len();
        }
    }
    counts
}

/// How often two codes were applied to the same text: the number of answers carrying both.
pub fn co_occurrence(passages: &[Passage]) -> BTreeMap<(i64, i64), usize> {
    let mut codes_of: HashMap<i64, BTreeSet<i64>> = HashMap::new();
    for passage in passages {
        codes_of
            .entry(passage.answer_id)
            .or_default()
            .insert(passage.code_id);
    }
    let mut pairs = BTreeMap::new();
    for codes in codes_of.values() {
        for &a in codes {
            for &b in codes.range(a + 1..) {
                *pairs.entry((a, b)).or_insert(0) += 1;
            }
        }
    }
    pairs
}

/// The filters of a matrix, each empty for all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Filters {
    pub version_id: Option<i64>,
    pub group: String,
    pub service: String,
    pub level: String,
}

impl Filters {
    pub fn keeps(&self, passage: &Passage, version_id: i64) -> bool {
        self.version_id.is_none_or(|v| v == version_id)
            && (self.group.is_empty() || self.group == passage.group)
            && (self.service.is_empty() || self.service == passage.service)
            && (self.level.is_empty() || self.level == passage.level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passage(
        id: i64,
        response: i64,
        answer: i64,
        group: &str,
        code: i64,
        comb: &str,
        valence: &str,
    ) -> Passage {
        Passage {
            coding_id: id,
            response_id: response,
            answer_id: answer,
            participant: format!("P-{response}"),
            group: group.into(),
            service: "Community".into(),
            level: "micro".into(),
            code_id: code,
            comb: comb.into(),
            valence: valence.into(),
        }
    }

    fn sample() -> Vec<Passage> {
        vec![
            passage(1, 1, 10, "staff", 5, "O-PHY", "barrier"),
            passage(2, 1, 10, "staff", 6, "O-SOC", "barrier"),
            passage(3, 2, 20, "carer", 5, "O-PHY", "barrier"),
            passage(4, 2, 21, "carer", 5, "O-PHY", "mixed"),
            passage(5, 3, 30, "carer", 7, "", "enabler"),
            passage(6, 3, 30, "carer", 6, "O-SOC", "neutral"),
        ]
    }

    #[test]
    fn cells_count_passages_and_people_with_mixed_on_both_sides() {
        let counts = count(&sample(), RowsBy::Group, ColumnsBy::Comb);
        let cell = |row: &str, column: &str, side: &'static str| {
            counts
                .cells
                .get(&(row.into(), column.into(), side))
                .map(|c| (c.passages, c.participants))
        };
        assert_eq!(cell("carer", "O-PHY", "barrier"), Some((2, 1)));
        assert_eq!(cell("carer", "O-PHY", "enabler"), Some((1, 1)));
        assert_eq!(cell("staff", "O-SOC", "barrier"), Some((1, 1)));
        assert_eq!(
            cell("carer", "O-SOC", "barrier"),
            None,
            "neutral counts nowhere"
        );
        assert_eq!(counts.cells.len(), 4, "unmapped codes have no COM-B column");
        let by_code = count(&sample(), RowsBy::Participant, ColumnsBy::Codes);
        assert_eq!(
            by_code
                .cells
                .get(&("P-3".into(), "7".into(), "enabler"))
                .map(|c| c.passages),
            Some(1)
        );
    }

    #[test]
    fn co_occurrence_counts_answers_with_both_codes() {
        let pairs = co_occurrence(&sample());
        assert_eq!(pairs.get(&(5, 6)), Some(&1));
        assert_eq!(pairs.get(&(6, 7)), Some(&1));
        assert_eq!(pairs.len(), 2);
    }

    #[test]
    fn filters_keep_what_they_name() {
        let p = &sample()[2];
        assert!(Filters::default().keeps(p, 9));
        let carers = Filters {
            group: "carer".into(),
            ..Filters::default()
        };
        assert!(carers.keeps(p, 9));
        assert!(!Filters {
            group: "staff".into(),
            ..Filters::default()
        }
        .keeps(p, 9));
        assert!(!Filters {
            version_id: Some(8),
            ..carers
        }
        .keeps(p, 9));
    }
}
