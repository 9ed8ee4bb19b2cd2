//! What a belief statement is: 1 to 1,000 characters about one code, supported by passages of the
//! study's coding with that code. No storage here.

use serde::Deserialize;
use utoipa::ToSchema;

/// The longest statement, in characters.
pub const STATEMENT_LIMIT: usize = 1_000;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(default)]
pub struct NewBelief {
    /// The code it is about (a merged code stands for the code it went into).
    pub code_id: i64,
    /// 1 to 1,000 characters, for example "I am confident I can speak up in meetings".
    pub statement: String,
    /// Coded passages of that code that support it.
    pub coding_ids: Vec<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(default)]
pub struct BeliefChange {
    pub statement: String,
    /// The supporting passages, all of them: those left out are unlinked.
    pub coding_ids: Vec<i64>,
}

/// The statement as kept: trimmed, not empty, not too long.
pub fn check_statement(statement: &str) -> Result<String, String> {
    let statement = statement.trim();
    if statement.is_empty() {
        return Err("Write the belief statement".into());
    }
    let length = statement.chars().count();
    if length > STATEMENT_LIMIT {
        return Err(format!(
            "Keep the statement to 1,000 characters or fewer: it has {length}"
        ));
    }
    Ok(statement.to_string())
}

/// The passages asked for, each once, when every one is a passage of the study's coding (`known`:
/// its id and the live code it is coded with) coded with `code`.
pub fn check_passages(
    code: i64,
    asked: &[i64],
    known: &[(i64, Option<i64>)],
) -> Result<Vec<i64>, String> {
    let mut kept: Vec<i64> = Vec::new();
    let mut wrong: Vec<String> = Vec::new();
    for &id in asked {
        if kept.contains(&id) {
            continue;
        }
        match known.iter().find(|(known, _)| *known == id) {
            Some((_, Some(live))) if *live == code => kept.push(id),
            _ => wrong.push(id.to_string()),
        }
    }
    if wrong.is_empty() {
        Ok(kept)
    } else {
        Err(format!(
            "Choose passages coded with this code in the study's coding (not {} {})",
            if wrong.len() == 1 {
                "passage"
            } else {
                "passages"
            },
            wrong.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_trimmed_and_bounded_in_characters() {
        assert_eq!(
            check_statement(" I can speak up \n").unwrap(),
            "I can speak up"
        );
        assert!(check_statement("  ").is_err());
        let most = "🙂".repeat(STATEMENT_LIMIT);
        assert!(check_statement(&most).is_ok());
        assert!(check_statement(&format!("{most}!"))
            .unwrap_err()
            .contains("1001"));
    }

    #[test]
    fn passages_must_be_coded_with_the_code() {
        let known = [(1, Some(7)), (2, Some(7)), (3, Some(8)), (4, None)];
        assert_eq!(check_passages(7, &[2, 1, 2], &known), Ok(vec![2, 1]));
        assert_eq!(check_passages(7, &[], &known), Ok(vec![]));
        let wrong = check_passages(7, &[1, 3, 4, 99], &known).unwrap_err();
        assert!(wrong.contains("passages 3, 4, 99"), "{wrong}");
    }
}
