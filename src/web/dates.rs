//! A day as staff type it in one box, read the same way on every staff form (campaign and link closing
//! dates, interviews, the tracker, the audit log's filter): the UK's day, month and year in that order,
//! in numbers or with the month's name, separated by spaces, slashes, dots or dashes; or year-month-day
//! as a browser or the API sends it. Participants' pages use the three boxes of the GOV.UK pattern.

use chrono::NaiveDate;

/// How a day can be written, for hints and messages.
pub const EXAMPLE: &str = "27 3 2026";

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

fn month(text: &str) -> Option<u32> {
    if let Ok(number) = text.parse::<u32>() {
        return Some(number);
    }
    let text = text.to_lowercase();
    if text.len() < 3 {
        return None;
    }
    // "Mar", "March" and "Sept" are the month; "Ma" and "Marchh" are not.
    MONTHS
        .iter()
        .position(|name| name.starts_with(&text))
        .map(|i| i as u32 + 1)
}

/// The day written in `text`, or None when it is not a real date in one of the accepted shapes.
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Some(day);
    }
    let parts: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || matches!(c, '/' | '.' | '-' | ','))
        .filter(|part| !part.is_empty())
        .collect();
    let [day, month_text, year] = parts.as_slice() else {
        return None;
    };
    if year.len() != 4 || day.len() > 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month(month_text)?, day.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn days_are_read_as_people_in_the_uk_write_them() {
        for text in [
            "27 3 2026",
            "27/03/2026",
            "27.3.2026",
            "27-3-2026",
            " 27 March 2026 ",
            "27 mar 2026",
            "27 Mar, 2026",
            "2026-03-27",
        ] {
            assert_eq!(parse_day(text), day(2026, 3, 27), "{text}");
        }
    }

    #[test]
    fn what_is_not_a_real_day_is_refused() {
        for text in [
            "",
            "31 2 2026",
            "27 13 2026",
            "27 3 26",
            "3/27/2026",
            "27 Ma 2026",
            "27 Marchh 2026",
            "2026-02-30",
            "tomorrow",
            "127 3 2026",
        ] {
            assert_eq!(parse_day(text), None, "{text}");
        }
    }
}
