//! Account rules with no storage or HTTP in them: email normalisation and sign-in throttling.

use chrono::{Duration, NaiveDateTime};

use crate::config::LoginSettings;

/// Emails are compared case-insensitively and without surrounding spaces.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

pub const PASSWORD_MIN: u64 = 12;
pub const PASSWORD_MAX: u64 = 200;

/// The one message for a wrong password and for an unknown email, so neither can be told apart.
pub const SIGN_IN_FAILED: &str =
    "The email address or password is not right. Check them and try again.";

/// What a paused sign-in says, whatever was typed: it never tells whether the password was right.
pub fn locked_message(settings: &LoginSettings) -> String {
    format!(
        "Too many attempts to sign in. For your security, signing in with a password is paused for {} minutes. If the email address and password you entered are right, we have emailed you a link to continue signing in. You can also reset your password.",
        settings.lock_minutes
    )
}

#[derive(Debug, PartialEq, Eq)]
pub enum LoginGate {
    Open,
    /// Let the attempt through after waiting this long.
    Slow(std::time::Duration),
    /// Too many failures from this address: refuse it.
    LockedAddress,
    /// Too many failures for this account: the password is still checked (after the longest wait), and
    /// a right one is answered with an emailed link rather than a session, so nobody can keep the owner
    /// out by typing wrong passwords.
    LockedAccount(std::time::Duration),
}

/// Decides whether a sign-in attempt may go ahead, from the recent failures for its email and its IP
/// (newest first). A lock starts when `lock_after` failures (`ip_lock_after` for an address) fall within
/// one window and lasts `lock_minutes` from the last of them; below that, each failure in the window past
/// `slow_after` (`ip_slow_after`) adds a delay.
pub fn login_gate(
    email_failures: &[NaiveDateTime],
    ip_failures: &[NaiveDateTime],
    now: NaiveDateTime,
    settings: &LoginSettings,
) -> LoginGate {
    let window = Duration::minutes(settings.window_minutes);
    let lock = Duration::minutes(settings.lock_minutes);
    let locked = |failures: &[NaiveDateTime], threshold: i64| {
        let threshold = threshold.max(1) as usize;
        failures.len() >= threshold
            && failures[0] - failures[threshold - 1] <= window
            && now < failures[0] + lock
    };
    if locked(ip_failures, settings.ip_lock_after) {
        return LoginGate::LockedAddress;
    }
    if locked(email_failures, settings.lock_after) {
        return LoginGate::LockedAccount(std::time::Duration::from_millis(
            settings.slow_step_ms * MAX_SLOW_STEPS as u64,
        ));
    }
    let recent =
        |failures: &[NaiveDateTime]| failures.iter().filter(|t| **t > now - window).count() as i64;
    let steps_past = |count: i64, threshold: i64| (count - threshold + 1).max(0);
    let steps = steps_past(recent(email_failures), settings.slow_after)
        .max(steps_past(recent(ip_failures), settings.ip_slow_after))
        .min(MAX_SLOW_STEPS);
    if steps > 0 {
        LoginGate::Slow(std::time::Duration::from_millis(
            settings.slow_step_ms * steps as u64,
        ))
    } else {
        LoginGate::Open
    }
}

/// However many failures, one attempt never waits longer than this many steps.
const MAX_SLOW_STEPS: i64 = 10;

/// How many past failures the gate needs to see per key.
pub fn failures_to_fetch(settings: &LoginSettings) -> i64 {
    settings
        .lock_after
        .max(settings.ip_lock_after)
        .max(settings.slow_after)
        .max(settings.ip_slow_after)
        .max(1)
}

/// Names typed for other people (an invitation) go into emails the service sends.
pub const NAME_MAX_CHARS: usize = 80;

pub const NAME_MESSAGE: &str =
    "Enter their name as plain words, up to 80 characters, without web or email addresses";

/// A name is plain words: not empty, not too long, no control characters, and nothing a mail program
/// would make into a link (an address with `://`, `www.`, an `@`, or a word with a dot inside it such
/// as `evil.example`). "Dr. Ann O'Neil-Smith" is fine.
pub fn plain_name(name: &str) -> bool {
    plain_words(name, NAME_MAX_CHARS)
}

/// Text typed by one person that goes into an email to another (a name, a study's title) only when it
/// is plain words of at most `max_chars`: nobody can use an invitation to send someone a link.
pub fn plain_words(text: &str, max_chars: usize) -> bool {
    let text = text.trim();
    let linkish = |word: &str| {
        let word = word.trim_matches(|c: char| !c.is_alphanumeric());
        word.contains("://")
            || word.to_lowercase().starts_with("www.")
            || word.contains('@')
            || word.split('.').filter(|part| !part.is_empty()).count() > 1
    };
    !text.is_empty()
        && text.chars().count() <= max_chars
        && !text.chars().any(|c| c.is_control() || c == '<' || c == '>')
        && !text.split_whitespace().any(linkish)
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

    fn settings() -> LoginSettings {
        LoginSettings {
            window_minutes: 15,
            slow_after: 3,
            slow_step_ms: 100,
            lock_after: 5,
            ip_slow_after: 6,
            ip_lock_after: 8,
            lock_minutes: 15,
        }
    }

    fn at(minute: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc()
            + Duration::minutes(minute)
    }

    fn failures(minutes: &[i64]) -> Vec<NaiveDateTime> {
        minutes.iter().rev().map(|m| at(*m)).collect()
    }

    #[test]
    fn slows_then_locks_then_opens_again() {
        let s = settings();
        assert_eq!(
            login_gate(&failures(&[0, 1]), &[], at(2), &s),
            LoginGate::Open
        );
        assert_eq!(
            login_gate(&failures(&[0, 1, 2]), &[], at(3), &s),
            LoginGate::Slow(std::time::Duration::from_millis(100))
        );
        assert_eq!(
            login_gate(&failures(&[0, 1, 2, 3]), &[], at(4), &s),
            LoginGate::Slow(std::time::Duration::from_millis(200))
        );
        let five = failures(&[0, 1, 2, 3, 4]);
        let paused = LoginGate::LockedAccount(std::time::Duration::from_millis(1000));
        assert_eq!(login_gate(&five, &[], at(5), &s), paused);
        assert_eq!(login_gate(&five, &[], at(18), &s), paused);
        assert_eq!(login_gate(&five, &[], at(20), &s), LoginGate::Open);
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_lock() {
        let spread = failures(&[0, 10, 20, 30, 40]);
        assert!(matches!(
            login_gate(&spread, &[], at(41), &settings()),
            LoginGate::Open | LoginGate::Slow(_)
        ));
    }

    #[test]
    fn one_address_trying_many_accounts_is_slowed_then_locked() {
        let from_ip = failures(&[0, 0, 1, 1, 2, 2]);
        assert_eq!(
            login_gate(&[], &from_ip, at(3), &settings()),
            LoginGate::Slow(std::time::Duration::from_millis(100))
        );
        let from_ip = failures(&[0, 0, 1, 1, 2, 2, 3, 3]);
        assert_eq!(
            login_gate(&[], &from_ip, at(4), &settings()),
            LoginGate::LockedAddress
        );
        let five = failures(&[0, 1, 2, 3, 4]);
        assert_eq!(
            login_gate(&five, &from_ip, at(5), &settings()),
            LoginGate::LockedAddress,
            "a locked address is refused before anything else"
        );
    }

    #[test]
    fn the_delay_is_capped() {
        let mut s = settings();
        s.lock_after = 100;
        let many: Vec<i64> = (0..40).map(|n| n / 4).collect();
        assert_eq!(
            login_gate(&failures(&many), &[], at(11), &s),
            LoginGate::Slow(std::time::Duration::from_millis(
                100 * MAX_SLOW_STEPS as u64
            ))
        );
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(
            normalize_email("  Ann.Lee@Example.ORG "),
            "ann.lee@example.org"
        );
    }
}
