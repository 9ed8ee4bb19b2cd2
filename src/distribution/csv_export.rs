//! Excel-safe CSV cells, for every CSV the service writes.

use std::borrow::Cow;

/// A cell as it can be written to a CSV file that people will open in a spreadsheet. Text beginning
/// with `=`, `+`, `-` or `@` (or a tab or carriage return, which spreadsheets skip before reading a
/// formula) would run as a formula, e.g. `=HYPERLINK(...)` sending data away: such text gets a leading
/// `'`, which spreadsheets read as "this is text" and do not show.
pub fn csv_cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formulas_are_neutralised_and_other_text_is_untouched() {
        assert_eq!(
            csv_cell("=HYPERLINK(\"https://evil.example\",\"x\")"),
            "'=HYPERLINK(\"https://evil.example\",\"x\")"
        );
        for risky in ["+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"] {
            assert!(csv_cell(risky).starts_with('\''), "{risky:?}");
        }
        for plain in ["ward 3", "a=b", "", "P-0001", "O'Neil"] {
            assert!(matches!(csv_cell(plain), std::borrow::Cow::Borrowed(_)));
        }
    }
}
