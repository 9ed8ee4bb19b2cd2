//! Codebook rules with no storage or HTTP: what a code holds and how it is checked, the palette, the
//! six COM-B codes every codebook starts with, the tree, and which moves and merges keep it a tree.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::FieldErrors;
use crate::studies::questionnaires::queries::TaxonomyTerm;

/// Colours codes are shown in, always beside the name: (value, label, hex).
pub const PALETTE: [(&str, &str, &str); 8] = [
    ("blue", "Blue", "#005eb8"),
    ("green", "Green", "#007f3b"),
    ("purple", "Purple", "#330072"),
    ("orange", "Orange", "#ed8b00"),
    ("red", "Red", "#d5281b"),
    ("teal", "Teal", "#00a499"),
    ("pink", "Pink", "#ae2573"),
    ("grey", "Grey", "#425563"),
];

pub const NAME_MAX: usize = 100;
pub const TEXT_MAX: usize = 2_000;

/// A code's own fields, as typed and as kept in the history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct CodeFields {
    pub name: String,
    /// The code it sits under; none for a top-level code.
    pub parent_id: Option<i64>,
    pub definition: String,
    /// When to apply it.
    pub inclusion: String,
    /// When not to.
    pub exclusion: String,
    /// A typical quote.
    pub example: String,
    /// One of the palette's values.
    pub colour: String,
    /// The COM-B sub-component it maps to (C-PHY, C-PSY, O-PHY, O-SOC, M-REF, M-AUT), or empty.
    pub comb: String,
    /// Theoretical Domains Framework domains it maps to (TDF-KNO, ...).
    pub tdf: Vec<String>,
}

/// A code as the codebook knows it, for the checks that need the whole tree.
#[derive(Debug, Clone)]
pub struct Known {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub live: bool,
}

fn too_long(text: &str, max: usize) -> bool {
    text.chars().count() > max
}

/// Checks a code: a name unique among live codes (ignoring case), a live parent that does not sit
/// under the code itself, texts within their limits, a palette colour, mappings that exist.
pub fn check(
    fields: CodeFields,
    this: Option<i64>,
    codes: &[Known],
    taxonomy: &[TaxonomyTerm],
) -> Result<CodeFields, FieldErrors> {
    let trim = |s: String| s.trim().to_string();
    let fields = CodeFields {
        name: trim(fields.name),
        definition: trim(fields.definition),
        inclusion: trim(fields.inclusion),
        exclusion: trim(fields.exclusion),
        example: trim(fields.example),
        colour: trim(fields.colour),
        comb: trim(fields.comb),
        tdf: fields
            .tdf
            .into_iter()
            .map(trim)
            .filter(|t| !t.is_empty())
            .collect(),
        parent_id: fields.parent_id,
    };
    let mut errors = FieldErrors::new();
    if fields.name.is_empty() {
        errors.insert("name".into(), "Enter a name for the code".into());
    } else if too_long(&fields.name, NAME_MAX) {
        errors.insert(
            "name".into(),
            format!("A code's name can be up to {NAME_MAX} characters"),
        );
    } else if codes.iter().any(|c| {
        c.live && Some(c.id) != this && c.name.to_lowercase() == fields.name.to_lowercase()
    }) {
        errors.insert(
            "name".into(),
            "There is already a code with this name: choose another, or merge them".into(),
        );
    }
    for (field, text) in [
        ("definition", &fields.definition),
        ("inclusion", &fields.inclusion),
        ("exclusion", &fields.exclusion),
        ("example", &fields.example),
    ] {
        if too_long(text, TEXT_MAX) {
            errors.insert(field.into(), "This can be up to 2,000 characters".into());
        }
    }
    if let Some(parent) = fields.parent_id {
        let live_parent = codes.iter().any(|c| c.id == parent && c.live);
        if !live_parent {
            errors.insert(
                "parent_id".into(),
                "Choose a code from this codebook, or none".into(),
            );
        } else if this.is_some_and(|id| id == parent || descendants(codes, id).contains(&parent)) {
            errors.insert(
                "parent_id".into(),
                "A code cannot sit under itself or under one of its own codes".into(),
            );
        }
    }
    if !PALETTE.iter().any(|(value, _, _)| *value == fields.colour) {
        errors.insert("colour".into(), "Choose one of the colours".into());
    }
    let known = |scheme: &str, code: &str| {
        taxonomy
            .iter()
            .any(|t| t.scheme == scheme && t.code == code)
    };
    if !fields.comb.is_empty() && !known("comb", &fields.comb) {
        errors.insert(
            "comb".into(),
            "Choose one of the six COM-B sub-components, or none".into(),
        );
    }
    if fields.tdf.iter().any(|t| !known("tdf", t)) {
        errors.insert("tdf".into(), "Choose domains from the list".into());
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(errors)
    }
}

/// Every code below `id`, however deep.
pub fn descendants(codes: &[Known], id: i64) -> HashSet<i64> {
    let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
    for c in codes {
        if let Some(parent) = c.parent_id {
            children.entry(parent).or_default().push(c.id);
        }
    }
    let mut found = HashSet::new();
    let mut waiting = vec![id];
    while let Some(next) = waiting.pop() {
        for &child in children.get(&next).into_iter().flatten() {
            if found.insert(child) {
                waiting.push(child);
            }
        }
    }
    found
}

/// Whether `from` can be merged into `into`: two different live codes, `into` not below `from`.
pub fn check_merge(codes: &[Known], from: i64, into: i64) -> Result<(), String> {
    let live = |id: i64| codes.iter().any(|c| c.id == id && c.live);
    if from == into {
        Err("Choose another code to merge into".into())
    } else if !live(from) || !live(into) {
        Err("Choose a code from this codebook".into())
    } else if descendants(codes, from).contains(&into) {
        Err("A code cannot be merged into one of its own codes: move that code first".into())
    } else {
        Ok(())
    }
}

/// The six COM-B sub-components, as the codes every codebook starts with.
pub fn seed(taxonomy: &[TaxonomyTerm]) -> Vec<CodeFields> {
    taxonomy
        .iter()
        .filter(|t| t.scheme == "comb")
        .map(|t| CodeFields {
            name: t.label.clone(),
            definition: t.description.clone(),
            colour: match t.code.chars().next() {
                Some('C') => "blue",
                Some('O') => "green",
                _ => "purple",
            }
            .into(),
            comb: t.code.clone(),
            ..CodeFields::default()
        })
        .collect()
}

/// Codes in reading order: each followed by the codes under it, with its depth.
pub fn tree_order<T>(
    codes: &[T],
    id: impl Fn(&T) -> i64,
    parent: impl Fn(&T) -> Option<i64>,
) -> Vec<(usize, usize)> {
    let mut order = Vec::with_capacity(codes.len());
    fn walk<T>(
        codes: &[T],
        id: &impl Fn(&T) -> i64,
        parent: &impl Fn(&T) -> Option<i64>,
        under: Option<i64>,
        depth: usize,
        order: &mut Vec<(usize, usize)>,
    ) {
        for (index, code) in codes.iter().enumerate() {
            if parent(code) == under {
                order.push((index, depth));
                walk(codes, id, parent, Some(id(code)), depth + 1, order);
            }
        }
    }
    walk(codes, &id, &parent, None, 0, &mut order);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taxonomy() -> Vec<TaxonomyTerm> {
        [
            ("comb", "C-PSY", "Psychological capability"),
            ("comb", "O-SOC", "Social opportunity"),
            ("tdf", "TDF-KNO", "Knowledge"),
        ]
        .iter()
        .enumerate()
        .map(|(i, (scheme, code, label))| TaxonomyTerm {
            id: i as i64 + 1,
            scheme: (*scheme).into(),
            code: (*code).into(),
            label: (*label).into(),
            description: format!("{label}: what it means"),
            position: i as i32,
        })
        .collect()
    }

    fn known(id: i64, parent: Option<i64>, name: &str) -> Known {
        Known {
            id,
            parent_id: parent,
            name: name.into(),
            live: true,
        }
    }

    fn fields(name: &str) -> CodeFields {
        CodeFields {
            name: name.into(),
            colour: "teal".into(),
            ..CodeFields::default()
        }
    }

    #[test]
    fn the_codebook_starts_with_the_com_b_sub_components() {
        let seeded = seed(&taxonomy());
        assert_eq!(seeded.len(), 2);
        assert_eq!(seeded[0].name, "Psychological capability");
        assert_eq!(seeded[0].comb, "C-PSY");
        assert_eq!(seeded[1].colour, "green");
    }

    #[test]
    fn names_are_unique_ignoring_case_and_parents_keep_it_a_tree() {
        let codes = vec![
            known(1, None, "Knowledge gaps"),
            known(2, Some(1), "Jargon"),
            known(3, Some(2), "Acronyms"),
        ];
        let errors = check(fields("knowledge GAPS"), None, &codes, &taxonomy()).unwrap_err();
        assert!(errors["name"].contains("already a code"));
        assert!(
            check(fields("Knowledge gaps"), Some(1), &codes, &taxonomy()).is_ok(),
            "its own name"
        );
        let under_own = CodeFields {
            parent_id: Some(3),
            ..fields("Knowledge gaps")
        };
        assert!(
            check(under_own, Some(1), &codes, &taxonomy()).unwrap_err()["parent_id"]
                .contains("under itself")
        );
        let fine = CodeFields {
            parent_id: Some(1),
            comb: "C-PSY".into(),
            tdf: vec!["TDF-KNO".into()],
            ..fields("Forms")
        };
        assert_eq!(
            check(fine, None, &codes, &taxonomy()).unwrap().parent_id,
            Some(1)
        );
    }

    #[test]
    fn unknown_colours_and_mappings_are_refused_beside_their_fields() {
        let bad = CodeFields {
            colour: "beige".into(),
            comb: "X".into(),
            tdf: vec!["TDF-NOPE".into()],
            ..fields("Time")
        };
        let errors = check(bad, None, &[], &taxonomy()).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn merging_keeps_it_a_tree() {
        let codes = vec![
            known(1, None, "A"),
            known(2, Some(1), "B"),
            known(3, None, "C"),
        ];
        assert!(check_merge(&codes, 1, 2).unwrap_err().contains("own codes"));
        assert!(check_merge(&codes, 2, 2).is_err());
        assert!(check_merge(&codes, 2, 3).is_ok());
    }

    #[test]
    fn the_tree_reads_each_code_before_those_under_it() {
        let codes = vec![(3, Some(1)), (1, None), (2, None), (4, Some(3))];
        let order = tree_order(&codes, |c| c.0, |c| c.1);
        let ids: Vec<(i64, usize)> = order.iter().map(|(i, d)| (codes[*i].0, *d)).collect();
        assert_eq!(ids, vec![(1, 0), (3, 1), (4, 2), (2, 0)]);
    }
}
