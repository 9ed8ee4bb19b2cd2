//! What may be shared: quotes only from participants who agreed to quotes (small counts are hidden
//! by the one shared-view rule, `studies::rules::SharedCount`).

use crate::responses::rules::StatementAnswer;

/// Whether a participant agreed to being quoted: the information sheet's statement about quotes
/// (the one whose words mention quotes, as "anonymised quotes … may be used in reports") was
/// agreed. A sheet without such a statement asked nobody, so nobody is quoted.
pub fn agreed_to_quotes(statements: &[StatementAnswer]) -> bool {
    statements
        .iter()
        .any(|s| s.agreed && s.text.to_lowercase().contains("quote"))
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
}
