//! The rules of inviting people to a study: what a name typed for someone may be (it goes into an email
//! the service sends, so it must be plain words, never something a mail program turns into a link), and
//! how many invitations one person and the whole site may send in an hour.

pub const NAME_MAX_CHARS: usize = 80;

pub const NAME_MESSAGE: &str =
    "Enter their name as plain words, up to 80 characters, without web or email addresses";

/// A name is plain words: not empty, not too long, no control characters, and nothing a mail program
/// would make into a link (an address with `://`, `www.`, an `@`, or a word with a dot inside it such
/// as `evil.example`). "Dr. Ann O'Neil-Smith" is fine.
pub fn plain_name(name: &str) -> bool {
    let name = name.trim();
    let linkish = |word: &str| {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        word.contains("://")
            || word.to_lowercase().starts_with("www.")
            || word.contains('@')
            || word.split('.').filter(|part| !part.is_empty()).count() > 1
    };
    !name.is_empty()
        && name.chars().count() <= NAME_MAX_CHARS
        && !name.chars().any(|c| c.is_control() || c == '<' || c == '>')
        && !name.split_whitespace().any(linkish)
}

/// Which hourly limit, if any, one more invitation would pass.
#[derive(Debug, PartialEq, Eq)]
pub enum Limit {
    Person(i64),
    Site(i64),
}

pub fn limit_reached(
    sent_by_person: i64,
    sent_on_site: i64,
    per_person: i64,
    per_site: i64,
) -> Option<Limit> {
    if sent_by_person >= per_person {
        Some(Limit::Person(per_person))
    } else if sent_on_site >= per_site {
        Some(Limit::Site(per_site))
    } else {
        None
    }
}

impl Limit {
    pub fn message(&self) -> String {
        match self {
            Limit::Person(n) => format!(
                "You have sent {n} invitations in the last hour, which is the most one person may send. Try again in an hour."
            ),
            Limit::Site(n) => format!(
                "Voices has sent {n} invitations in the last hour, which is the most it sends. Try again in an hour, or ask an administrator."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_words() {
        for name in [
            "Ann Smith",
            "Dr. Ann O'Neil-Smith",
            "José Álvarez",
            "Li Wei (carer)",
            "A. N. Other",
        ] {
            assert!(plain_name(name), "{name}");
        }
        for name in [
            "",
            "   ",
            "Dear colleague, visit https://evil.example",
            "see evil.example now",
            "www.evil.example",
            "mail me@evil.example",
            "<b>Ann</b>",
            "Ann\nSmith",
            &"a".repeat(81),
        ] {
            assert!(!plain_name(name), "{name:?}");
        }
    }

    #[test]
    fn hourly_limits_per_person_then_site() {
        assert_eq!(limit_reached(0, 0, 20, 100), None);
        assert_eq!(limit_reached(20, 20, 20, 100), Some(Limit::Person(20)));
        assert_eq!(limit_reached(5, 100, 20, 100), Some(Limit::Site(100)));
    }
}
