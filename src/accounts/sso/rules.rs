//! Single sign-on rules with no storage or HTTP in them: the pending flow, which email counts as
//! verified, who may get a new account, display names, and what each refusal tells the person.

use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A sign-in started at the provider must come back within this time.
pub const FLOW_MINUTES: i64 = 10;

/// Longest `next` kept in the flow: the flow lives in the session cookie, which holds about 4 KB.
const NEXT_MAX: usize = 1000;

/// Longest display name taken from the provider, as for an invitation.
pub const NAME_MAX: usize = 100;

/// A sign-in started at the provider and not yet come back, kept in the encrypted cookie session. One
/// per browser: starting again replaces it, so only the latest tab's callback is accepted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingFlow {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next: String,
    /// Unix seconds.
    pub started: i64,
}

impl PendingFlow {
    pub fn expired(&self, now: i64) -> bool {
        now - self.started > FLOW_MINUTES * 60 || now < self.started
    }

    /// Whether the callback's `state` is this flow's, compared in constant time so that timing tells
    /// an attacker nothing about how much of a guess was right.
    pub fn state_matches(&self, state: &str) -> bool {
        let (a, b) = (self.state.as_bytes(), state.as_bytes());
        a.len() == b.len()
            && std::hint::black_box(a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y))) == 0
    }
}

/// Where to go after signing in: a path on this site (`safe_next`'s rule, applied by the caller) that
/// fits in the session cookie.
pub fn flow_next(safe: String) -> String {
    if safe.len() > NEXT_MAX {
        "/".into()
    } else {
        safe
    }
}

/// The email address the provider vouches for, normalised, or None. `email_verified: false` is always
/// refused; a missing `email_verified` is accepted only when the operator trusts the issuer's email
/// claim (`sso.trust_email_claim`).
pub fn verified_email(
    email: Option<&str>,
    email_verified: Option<bool>,
    trust_email_claim: bool,
) -> Option<String> {
    let email = super::super::rules::normalize_email(email?);
    let domain_ok = email
        .rsplit_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    let vouched = email_verified.unwrap_or(trust_email_claim);
    (domain_ok && vouched).then_some(email)
}

/// Whether a new account may be made for this (normalised) email: its domain, exactly, is allowed.
pub fn domain_allowed(email: &str, allowed: &[String]) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(_, domain)| allowed.iter().any(|a| a == domain))
}

/// The display name for a new account: the provider's `name` as plain text on one line, trimmed and
/// cut to `NAME_MAX` characters, or the email's local part when the provider gives none.
pub fn display_name(name: Option<&str>, email: &str) -> String {
    let cleaned = name
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let chosen = if cleaned.is_empty() {
        email.split('@').next().unwrap_or(email).to_string()
    } else {
        cleaned
    };
    chosen.chars().take(NAME_MAX).collect()
}

/// Why a single sign-on did not sign someone in. Each has a plain-language message for the person and
/// a short reason for logs and the audit log (never personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The provider could not be reached, or its discovery document was wrong (a wrong issuer).
    Unavailable,
    /// No sign-in was started in this browser, or its callback was already used.
    NoFlow,
    Expired,
    StateMismatch,
    /// The person cancelled at the provider.
    Cancelled,
    /// The provider answered the callback with another error.
    ProviderError,
    /// The callback names another issuer than the one configured (RFC 9207).
    WrongIssuer,
    /// The token endpoint refused the code: expired, used, or the PKCE verifier did not match.
    CodeRefused,
    /// The ID token failed a check: signature, issuer, audience, nonce, expiry.
    TokenInvalid,
    EmailUnverified,
    DomainNotAllowed,
    Deactivated,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Unavailable => "provider_unavailable",
            Refusal::NoFlow => "no_pending_sign_in",
            Refusal::Expired => "sign_in_expired",
            Refusal::StateMismatch => "state_mismatch",
            Refusal::Cancelled => "cancelled_at_provider",
            Refusal::ProviderError => "provider_error",
            Refusal::WrongIssuer => "wrong_issuer",
            Refusal::CodeRefused => "code_refused",
            Refusal::TokenInvalid => "id_token_invalid",
            Refusal::EmailUnverified => "email_not_verified",
            Refusal::DomainNotAllowed => "domain_not_allowed",
            Refusal::Deactivated => "account_deactivated",
        }
    }

    /// The person's own doing or standing (cancelled, not allowed) rather than a broken flow.
    pub fn is_about_the_person(self) -> bool {
        matches!(
            self,
            Refusal::Cancelled
                | Refusal::ProviderError
                | Refusal::EmailUnverified
                | Refusal::DomainNotAllowed
                | Refusal::Deactivated
        )
    }

    pub fn message(self) -> &'static str {
        match self {
            Refusal::Unavailable => "We could not reach your organisation's sign-in service. Try again in a few minutes. If it keeps happening, tell the Voices administrator.",
            Refusal::NoFlow => "This sign-in was already used, or was started in another browser. You have not been signed in. Start again.",
            Refusal::Expired => "Signing in took longer than 10 minutes, so it was stopped for your security. You have not been signed in. Start again.",
            Refusal::StateMismatch => "This sign-in does not match the one started in this browser, so you have not been signed in. Start again.",
            Refusal::Cancelled => "Signing in was cancelled. You have not been signed in.",
            Refusal::ProviderError => "Your organisation's sign-in service did not sign you in. Try again. If it keeps happening, ask your IT service desk.",
            Refusal::WrongIssuer | Refusal::TokenInvalid => "Your organisation's sign-in service sent an answer that Voices could not trust, so you have not been signed in. Try again. If it keeps happening, tell the Voices administrator.",
            Refusal::CodeRefused => "Your organisation's sign-in service did not accept this sign-in: it may have taken too long or been used already. You have not been signed in. Start again.",
            Refusal::EmailUnverified => "Your organisation account did not give Voices a confirmed email address, so Voices cannot tell which account is yours. Ask the Voices administrator.",
            Refusal::DomainNotAllowed => "There is no Voices account for your email address, and accounts for it are not made automatically. Ask the study team to invite you.",
            Refusal::Deactivated => "Your Voices account has been deactivated. Ask an administrator if you need it again.",
        }
    }
}

/// A single sign-on that did not end in a session: refused (shown to the person), or broken on our
/// side (an error page, as anywhere else).
#[derive(Debug)]
pub enum Failure {
    Refused(Refusal),
    App(AppError),
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        Failure::Refused(refusal)
    }
}

impl From<AppError> for Failure {
    fn from(error: AppError) -> Self {
        Failure::App(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(started: i64) -> PendingFlow {
        PendingFlow {
            state: "abc123".into(),
            nonce: "n".into(),
            pkce_verifier: "v".into(),
            next: "/".into(),
            started,
        }
    }

    #[test]
    fn a_flow_lasts_ten_minutes_and_matches_only_its_own_state() {
        let f = flow(1_000);
        assert!(!f.expired(1_000 + 600));
        assert!(f.expired(1_000 + 601));
        assert!(f.expired(999), "a start in the future is not trusted");
        assert!(f.state_matches("abc123"));
        for other in ["abc124", "abc12", "abc1234", ""] {
            assert!(!f.state_matches(other), "{other}");
        }
    }

    #[test]
    fn only_vouched_emails_count() {
        let v = |email, verified, trust| verified_email(Some(email), verified, trust);
        assert_eq!(
            v(" Ann@Trust.NHS.uk ", Some(true), false).as_deref(),
            Some("ann@trust.nhs.uk")
        );
        assert_eq!(v("ann@trust.nhs.uk", None, false), None);
        assert_eq!(
            v("ann@trust.nhs.uk", None, true).as_deref(),
            Some("ann@trust.nhs.uk")
        );
        assert_eq!(v("ann@trust.nhs.uk", Some(false), true), None);
        assert_eq!(v("ann", Some(true), true), None);
        assert_eq!(v("@trust.nhs.uk", Some(true), true), None);
        assert_eq!(verified_email(None, Some(true), true), None);
    }

    #[test]
    fn domains_match_exactly() {
        let allowed = vec!["trust.nhs.uk".to_string()];
        assert!(domain_allowed("ann@trust.nhs.uk", &allowed));
        assert!(!domain_allowed("ann@evil.trust.nhs.uk", &allowed));
        assert!(!domain_allowed("ann@trust.nhs.uk.evil.example", &allowed));
        assert!(!domain_allowed("ann@trust.nhs.uk", &[]));
    }

    #[test]
    fn display_names_are_plain_one_line_and_bounded() {
        assert_eq!(
            display_name(Some("  Ann \n Smith\u{0}x "), "a@b.org"),
            "Ann Smith x"
        );
        assert_eq!(display_name(None, "ann.smith@b.org"), "ann.smith");
        assert_eq!(display_name(Some(" \t "), "bo@b.org"), "bo");
        assert_eq!(
            display_name(Some(&"é".repeat(300)), "a@b.org")
                .chars()
                .count(),
            NAME_MAX
        );
        assert_eq!(flow_next("/x".repeat(600)), "/");
        assert_eq!(flow_next("/studies/3".into()), "/studies/3");
    }
}
