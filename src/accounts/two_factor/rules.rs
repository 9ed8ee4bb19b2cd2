//! The rules of two-step sign-in: which codes are right (RFC 6238 time-based codes, and single-use
//! recovery codes), when sensitive work asks for it again, and how the shared secret is
//! kept (encrypted with the service's key) and shown (a QR code drawn here, and the same key as text).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use chrono::{Duration, NaiveDateTime};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use totp_rs::{Algorithm, TOTP};

use crate::security::{hash_token, random_bytes};

pub const RECOVERY_CODE_COUNT: usize = 10;

/// RFC 6238's defaults, which every authenticator app supports.
const STEP_SECONDS: u64 = 30;
const DIGITS: usize = 6;

/// Recovery codes use letters and digits that cannot be mistaken for each other when read aloud or
/// copied by hand (no 0/o, 1/l/i).
const RECOVERY_ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Paths (as routes are written) whose pages show participants' identities in bulk, export data, erase an
/// identity or change someone's study roles: these ask for the second step again when it is stale.
pub const STEP_UP_ROUTES: &[&str] = &[
    "/studies/{id}/participants",
    "/studies/{id}/participants.csv",
    "/studies/{id}/participants/{pid}/erase-identity",
    "/studies/{id}/campaigns/{cid}/tracking.csv",
    "/studies/{id}/members/{member}/edit",
    "/studies/{id}/participants/{pid}/subject-access",
    "/studies/{id}/participants/{pid}/subject-access.json",
    "/studies/{id}/participants/{pid}/erase-everything",
    "/studies/{id}/subject-access",
    "/studies/{id}/retention",
    "/studies/{id}/audit.csv",
    "/admin/audit.csv",
];
/// Every route under these prefixes is an export.
pub const STEP_UP_PREFIXES: &[&str] = &["/studies/{id}/exports/"];

/// Whether a request's path can be one of those routes. Before routing, finding a path's route pattern
/// means trying every route; this spares the pages that cannot need the step (participants' above all).
pub fn may_need_step_up(path: &str) -> bool {
    path.starts_with("/studies/") || path.starts_with("/admin/")
}

pub fn needs_step_up(route: &str) -> bool {
    STEP_UP_ROUTES.contains(&route) || STEP_UP_PREFIXES.iter().any(|p| route.starts_with(p))
}

/// Whether sensitive work must ask for the second step again: the session proved it too long ago, or
/// never (a session that signed in before the person turned it on).
pub fn step_up_due(proved_at: Option<NaiveDateTime>, now: NaiveDateTime, minutes: i64) -> bool {
    proved_at.is_none_or(|at| now - at > Duration::minutes(minutes))
}

pub fn new_secret() -> Vec<u8> {
    // 160 bits, as RFC 4226 recommends.
    random_bytes::<20>().to_vec()
}

fn totp(secret: &[u8]) -> TOTP {
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP_SECONDS, secret.to_vec())
}

/// The code an authenticator app shows at `unix_time` (tests and the command line use it).
pub fn code_at(secret: &[u8], unix_time: u64) -> String {
    totp(secret).generate(unix_time)
}

/// The time step a code is right for, if it is right now, a step before (a slow typist) or a step after
/// (a fast phone clock), and later than the last step accepted, so that no code works twice.
pub fn accepted_step(
    secret: &[u8],
    code: &str,
    unix_time: u64,
    last_step: Option<i64>,
) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != DIGITS || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret);
    let now = (unix_time / STEP_SECONDS) as i64;
    (now - 1..=now + 1)
        .filter(|step| *step >= 0 && last_step.is_none_or(|last| *step > last))
        .find(|step| {
            let expected = totp.generate(*step as u64 * STEP_SECONDS);
            constant_time_eq(expected.as_bytes(), code.as_bytes())
        })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Six digits (spaces allowed) are a code from the app; anything else is tried as a recovery code.
pub fn looks_like_app_code(text: &str) -> bool {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    digits.len() == DIGITS && digits.chars().all(|c| c.is_ascii_digit())
}

/// The key as people type it into an app: base32 in groups of four.
pub fn display_key(secret: &[u8]) -> String {
    let encoded = totp(secret).get_secret_base32();
    encoded
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `otpauth://` address the QR code carries (Google's Key Uri Format, which every app reads).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let encode = |text: &str| {
        percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        encode(issuer),
        encode(account),
        totp(secret).get_secret_base32(),
        encode(issuer),
    )
}

/// The QR code as inline SVG, drawn here so that no outside service ever sees the secret.
pub fn qr_svg(uri: &str) -> Result<String, qrcode::types::QrError> {
    let code = qrcode::QrCode::new(uri.as_bytes())?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    // The XML declaration is for standalone files, not for SVG inside HTML.
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_string(),
        None => svg,
    })
}

/// Ten new recovery codes as the person sees them ("abcd-efgh-jkmn": 60 random bits each).
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODE_COUNT)
        .map(|_| {
            let bytes = random_bytes::<12>();
            let letters: String = bytes
                .iter()
                .map(|b| RECOVERY_ALPHABET[*b as usize % RECOVERY_ALPHABET.len()] as char)
                .collect();
            format!("{}-{}-{}", &letters[0..4], &letters[4..8], &letters[8..12])
        })
        .collect()
}

/// What is stored of a recovery code: the hash of its letters, whatever case or dashes were typed.
pub fn recovery_code_hash(typed: &str) -> String {
    let letters: String = typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hash_token(&format!("recovery:{letters}"))
}

/// The key that encrypts authenticator secrets at rest, derived from the service's secret key so that a
/// copy of the database alone does not give anyone the codes.
pub fn sealing_key(service_key: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(service_key).expect("HMAC takes a key of any length");
    mac.update(b"voices second factor secret v1");
    mac.finalize().into_bytes().into()
}

/// Encrypts a secret with AES-256-GCM: base64 of a fresh 96-bit nonce followed by the ciphertext.
pub fn seal(key: &[u8; 32], secret: &[u8]) -> String {
    let cipher = Aes256Gcm::new(key.into());
    let nonce = random_bytes::<12>();
    let mut sealed = nonce.to_vec();
    sealed.extend(
        cipher
            .encrypt(Nonce::from_slice(&nonce), secret)
            .expect("AES-GCM encrypts any length a secret has"),
    );
    base64::engine::general_purpose::STANDARD.encode(sealed)
}

/// The secret back, or None if it was sealed with another key (the service key changed) or altered.
pub fn open(key: &[u8; 32], sealed: &str) -> Option<Vec<u8>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed)
        .ok()?;
    if bytes.len() < 12 {
        return None;
    }
    let (nonce, ciphertext) = bytes.split_at(12);
    Aes256Gcm::new(key.into())
        .decrypt(Nonce::from_slice(nonce), ciphertext)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 secret "12345678901234567890"; the last six digits of its codes.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_match_the_rfc_test_vectors() {
        for (time, code) in [
            (59, "287082"),
            (1111111109, "081804"),
            (1234567890, "005924"),
            (2000000000, "279037"),
        ] {
            assert_eq!(code_at(RFC_SECRET, time), code, "at {time}");
            assert_eq!(
                accepted_step(RFC_SECRET, code, time, None),
                Some((time / 30) as i64)
            );
        }
    }

    #[test]
    fn a_code_works_once_and_only_near_its_time() {
        let at = 1_234_567_890;
        let code = code_at(RFC_SECRET, at);
        let step = accepted_step(RFC_SECRET, &code, at, None).unwrap();
        assert_eq!(
            accepted_step(RFC_SECRET, &code, at, Some(step)),
            None,
            "reused"
        );
        assert_eq!(
            accepted_step(RFC_SECRET, &code, at + 30, None),
            Some(step),
            "typed slowly"
        );
        assert_eq!(
            accepted_step(RFC_SECRET, &code, at + 90, None),
            None,
            "too late"
        );
        assert_eq!(accepted_step(RFC_SECRET, "12345", at, None), None);
        assert_eq!(accepted_step(RFC_SECRET, "abcdef", at, None), None);
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(accepted_step(RFC_SECRET, &spaced, at, None), Some(step));
    }

    #[test]
    fn recovery_codes_are_distinct_and_typed_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), RECOVERY_CODE_COUNT);
        let code = &codes[0];
        assert_eq!(code.len(), 14);
        let typed = code.to_uppercase().replace('-', " ");
        assert_eq!(recovery_code_hash(&typed), recovery_code_hash(code));
        assert!(!looks_like_app_code(code));
        assert!(looks_like_app_code("123 456"));
    }

    #[test]
    fn secrets_are_sealed_with_the_service_key() {
        let key = sealing_key(&[7u8; 64]);
        let secret = new_secret();
        let sealed = seal(&key, &secret);
        assert_ne!(sealed, seal(&key, &secret), "a fresh nonce each time");
        assert_eq!(open(&key, &sealed), Some(secret));
        assert_eq!(open(&sealing_key(&[8u8; 64]), &sealed), None);
        assert_eq!(open(&key, "not base64!"), None);
    }

    #[test]
    fn the_qr_code_is_inline_svg_and_the_key_is_readable() {
        let uri = otpauth_uri("Voices", "ann@example.org", RFC_SECRET);
        assert!(uri.starts_with("otpauth://totp/Voices:ann%40example%2Eorg?secret="));
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.starts_with("<svg"));
        assert_eq!(
            display_key(RFC_SECRET),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
    }

    #[test]
    fn exports_and_bulk_identities_ask_again() {
        assert!(needs_step_up("/studies/{id}/exports/responses.csv"));
        assert!(needs_step_up("/studies/{id}/participants"));
        assert!(!needs_step_up("/studies/{id}/participants/{pid}"));
        assert!(!needs_step_up("/studies/{id}"));
        for route in STEP_UP_ROUTES.iter().chain(STEP_UP_PREFIXES) {
            assert!(may_need_step_up(route), "{route} would never be asked for");
        }
        assert!(!may_need_step_up("/p/abc/page/1"));
    }
}
