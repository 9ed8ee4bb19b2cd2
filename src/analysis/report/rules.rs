//! What may be shared: quotes only from participants who agreed to quotes, small counts hidden.

use crate::responses::rules::StatementAnswer;

/// Whether a participant agreed to being quoted: the information sheet's statement about quotes
/// (the one whose words mention quotes, as "anonymised quotes … may be used in reports") was
/// agreed. A sheet without such a statement asked nobody, so nobody is quoted.
pub fn agreed_to_quotes(statements: &[StatementAnswer]) -> bool {
    statements
        .iter()
        .any(|s| s.agreed && s.text.to_lowercase().contains("quote"))
}

/// A count as shared: hidden below the study's threshold (but never a zero, which reveals nobody).
pub fn shared_count(count: usize, threshold: i32) -> String {
    if count > 0 && (count as i64) < i64::from(threshold) {
        format!("fewer than {threshold}")
    } else {
        count.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement(text: &str, agreed: bool) -> StatementAnswer {
        StatementAnswer {
            text: text.into(),
            required: false,
            agreed,
        }
    }

    #[test]
    fn only_an_agreed_statement_about_quotes_counts() {
        let quotes = "I agree that anonymised Quotes from what I say may be used in reports.";
        assert!(agreed_to_quotes(&[
            statement("I agree to take part.", true),
            statement(quotes, true)
        ]));
        assert!(!agreed_to_quotes(&[
            statement("I agree to take part.", true),
            statement(quotes, false)
        ]));
        assert!(!agreed_to_quotes(&[statement(
            "I agree to take part.",
            true
        )]));
    }

    #[test]
    fn small_counts_are_hidden_but_zero_and_large_ones_shown() {
        assert_eq!(shared_count(0, 5), "0");
        assert_eq!(shared_count(4, 5), "fewer than 5");
        assert_eq!(shared_count(5, 5), "5");
    }
}
