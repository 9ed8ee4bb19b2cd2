//! The rules of inviting people to a study: how many invitations one person and the whole site may send
//! in an hour. (What a name typed for someone may be is `accounts::rules::plain_name`.)

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
    fn hourly_limits_per_person_then_site() {
        assert_eq!(limit_reached(0, 0, 20, 100), None);
        assert_eq!(limit_reached(20, 20, 20, 100), Some(Limit::Person(20)));
        assert_eq!(limit_reached(5, 100, 20, 100), Some(Limit::Site(100)));
    }
}
