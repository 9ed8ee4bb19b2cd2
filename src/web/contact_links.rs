//! Contact details written by the study team (who to call, who to email) as HTML where every phone
//! number and email address can be tapped: someone looking for support on a phone should not have to
//! copy a number by hand.

use std::collections::HashMap;

/// Numbers short enough to be missed by the rule for full phone numbers, and worth a tap: NHS 111,
/// Samaritans, emergencies.
const SHORT_NUMBERS: &[&str] = &["111", "999", "116123", "112"];

#[derive(Debug, PartialEq)]
enum Link {
    Phone(String),
    Email,
}

/// `{{ text | contact | safe }}`: the text escaped, its line breaks kept, its phone numbers as `tel:`
/// links and its email addresses as `mailto:` links.
pub fn filter(value: &tera::Value, _: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let text = value.as_str().ok_or("contact: expects text")?;
    Ok(tera::Value::String(to_html(text)))
}

pub fn to_html(text: &str) -> String {
    let mut spans = phone_numbers(text);
    spans.extend(email_addresses(text));
    spans.sort_by_key(|(start, _, _)| *start);
    let mut html = String::with_capacity(text.len() * 2);
    let mut at = 0;
    for (start, end, link) in spans {
        if start < at {
            continue;
        }
        html.push_str(&tera::escape_html(&text[at..start]));
        let shown = tera::escape_html(&text[start..end]);
        match link {
            Link::Phone(digits) => html.push_str(&format!("<a href=\"tel:{digits}\">{shown}</a>")),
            Link::Email => html.push_str(&format!("<a href=\"mailto:{shown}\">{shown}</a>")),
        }
        at = end;
    }
    html.push_str(&tera::escape_html(&text[at..]));
    html.replace("\r\n", "\n").replace('\n', "<br>\n")
}

/// Runs of digits, spaces, hyphens and brackets (a leading + allowed) holding a UK or international
/// number (10 to 15 digits, starting 0 or +) or one of the short numbers.
fn phone_numbers(text: &str) -> Vec<(usize, usize, Link)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = (bytes[i].is_ascii_digit() || bytes[i] == b'+')
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let mut end = i + 1;
        while end < bytes.len() && matches!(bytes[end], b'0'..=b'9' | b' ' | b'-' | b'(' | b')') {
            end += 1;
        }
        while end > i && !bytes[end - 1].is_ascii_digit() {
            end -= 1;
        }
        let run = &text[i..end];
        let digits: String = run.chars().filter(char::is_ascii_digit).collect();
        let followed_by_word = bytes.get(end).is_some_and(u8::is_ascii_alphanumeric);
        let full =
            (10..=15).contains(&digits.len()) && (run.starts_with('0') || run.starts_with('+'));
        if !followed_by_word && (full || SHORT_NUMBERS.contains(&digits.as_str())) {
            let number = if run.starts_with('+') {
                format!("+{digits}")
            } else {
                digits
            };
            found.push((i, end, Link::Phone(number)));
        }
        i = end.max(i + 1);
    }
    found
}

/// `name@domain.tld` wherever an @ has an address around it.
fn email_addresses(text: &str) -> Vec<(usize, usize, Link)> {
    let bytes = text.as_bytes();
    let local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let domain = |b: u8| b.is_ascii_alphanumeric() || b".-".contains(&b);
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let mut start = at;
        while start > 0 && local(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = at + 1;
        while end < bytes.len() && domain(bytes[end]) {
            end += 1;
        }
        while end > at + 1 && bytes[end - 1] == b'.' {
            end -= 1;
        }
        let host = &text[at + 1..end];
        if start < at && host.contains('.') && !host.starts_with('.') {
            found.push((start, end, Link::Email));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn numbers_and_addresses_can_be_tapped() {
        assert_eq!(
            to_html("Call Sam on 0114 271 8000 (Mon-Fri), or email sam.jones@nhs.net."),
            "Call Sam on <a href=\"tel:01142718000\">0114 271 8000</a> (Mon-Fri), or email \
             <a href=\"mailto:sam.jones@nhs.net\">sam.jones@nhs.net</a>."
        );
        assert_eq!(
            to_html("Samaritans: 116 123\nNHS 111\n+44 20 7946 0958"),
            "Samaritans: <a href=\"tel:116123\">116 123</a><br>\nNHS <a href=\"tel:111\">111</a><br>\n\
             <a href=\"tel:+442079460958\">+44 20 7946 0958</a>"
        );
    }

    #[test]
    fn dates_years_and_markup_are_left_alone() {
        assert_eq!(
            to_html("Open 9 to 5 until 2026-03-27, room 12 <b>"),
            "Open 9 to 5 until 2026-03-27, room 12 &lt;b&gt;"
        );
        assert_eq!(to_html("an @ sign, x@y"), "an @ sign, x@y");
    }
}
