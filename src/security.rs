//! Secrets that travel in links and headers: generated at random, stored only as hashes, never logged.

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// A fresh link or API token: 256 random bits, base64url, with the SHA-256 hex digest that is stored.
pub struct NewToken {
    pub secret: String,
    pub hash: String,
}

pub fn new_token(prefix: &str) -> NewToken {
    let secret = format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    );
    let hash = hash_token(&secret);
    NewToken { secret, hash }
}

/// A link token that can be made again from the same inputs but by nobody without the key: HMAC-SHA256 of
/// `label` under `key`, base64url (256 bits). Emails are composed at send time and a retried send must
/// carry the same link, yet the secret is never stored; only its hash is.
pub fn derived_token(key: &[u8], label: &str) -> NewToken {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(label.as_bytes());
    let secret =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    let hash = hash_token(&secret);
    NewToken { secret, hash }
}

/// A link secret that carries `payload` (no dots) and proves, without anything stored, that Voices made
/// it: `{payload}.{nonce}.{mac}`, the MAC being HMAC-SHA256 under `key` over payload and nonce. It lets
/// a visitor hold a link before there is any row to look it up by.
pub fn signed_ticket(key: &[u8], payload: &str) -> String {
    let nonce = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<16>());
    let mac = ticket_mac(key, payload, &nonce).finalize().into_bytes();
    let mac = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac);
    format!("{payload}.{nonce}.{mac}")
}

/// The payload of a ticket `signed_ticket` made under `key`; None for anything else.
pub fn ticket_payload<'a>(key: &[u8], ticket: &'a str) -> Option<&'a str> {
    let mut parts = ticket.split('.');
    let (payload, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let given = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(mac)
        .ok()?;
    // verify_slice compares in constant time, so the MAC cannot be found a byte at a time.
    ticket_mac(key, payload, nonce)
        .verify_slice(&given)
        .is_ok()
        .then_some(payload)
}

fn ticket_mac(key: &[u8], payload: &str, nonce: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(b"voices ticket\0");
    mac.update(payload.as_bytes());
    mac.update(b"\0");
    mac.update(nonce.as_bytes());
    mac
}

/// Tokens carry 256 bits of entropy, so a fast unsalted hash is enough to make a stolen table useless.
pub fn hash_token(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Wraps personal data or secrets so that `Debug` and `Display` print a mask, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Masked<T>(pub T);

impl<T> std::fmt::Debug for Masked<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl<T> std::fmt::Display for Masked<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// From here on, every file and folder this process creates is readable by its own user only (0600 and
/// 0700), whatever the umask it was started with: the database, its write-ahead log, emails written to
/// the outbox folder and backups all hold personal data.
#[cfg(unix)]
pub fn create_files_privately() {
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(not(unix))]
pub fn create_files_privately() {}

/// Makes a data file or folder made before (by an older version, or under another umask) private too,
/// with SQLite's companion files (`-wal`, `-shm`) beside a database.
pub fn make_private(path: &std::path::Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut paths = vec![path.to_path_buf()];
        for suffix in ["-wal", "-shm"] {
            let mut companion = path.as_os_str().to_owned();
            companion.push(suffix);
            paths.push(companion.into());
        }
        for path in paths {
            let Ok(metadata) = std::fs::metadata(&path) else {
                continue;
            };
            let mode = if metadata.is_dir() { 0o700 } else { 0o600 };
            // Already so: nothing to change (and an immutable file could not be changed).
            if metadata.permissions().mode() & 0o777 == mode {
                continue;
            }
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).map_err(
                |e| anyhow::anyhow!("making {} private to this user: {e}", path.display()),
            )?;
        }
    }
    Ok(())
}

/// Installs the one TLS crypto provider (ring) for the process; two in one tree panic at first use.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = new_token("vt_");
        let b = new_token("vt_");
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with("vt_"));
        assert_eq!(a.secret.len(), 3 + 43);
        assert_eq!(a.hash, hash_token(&a.secret));
        assert_eq!(a.hash.len(), 64);
        assert_eq!(format!("{:?}", Masked("someone@example.org")), "***");
    }

    #[test]
    fn tickets_carry_their_payload_only_under_their_key() {
        let ticket = signed_ticket(b"key", "j42");
        assert_ne!(ticket, signed_ticket(b"key", "j42"), "each ticket is new");
        assert_eq!(ticket_payload(b"key", &ticket), Some("j42"));
        assert_eq!(ticket_payload(b"other key", &ticket), None);
        let forged = ticket.replacen("j42", "j43", 1);
        assert_eq!(ticket_payload(b"key", &forged), None);
        assert_eq!(ticket_payload(b"key", "j42"), None);
        assert_eq!(ticket_payload(b"key", &format!("{ticket}.x")), None);
    }
}
