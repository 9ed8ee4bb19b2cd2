//! Typed settings: the built-in defaults, then `config/local.toml`, then `VOICES_*` environment variables.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub env: Environment,
    pub bind: String,
    pub base_url: String,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub database_pool_size: u32,
    pub database_wait_ms: u64,
    pub sqlite_synchronous: crate::db::SqliteSynchronous,
    pub secret_key: String,
    pub smtp_url: String,
    pub mail_from: String,
    pub trust_forwarded_for: bool,
    pub workers: usize,
    pub session: SessionSettings,
    pub second_factor: SecondFactorSettings,
    pub login: LoginSettings,
    pub tokens: TokenSettings,
    pub invitations: InvitationSettings,
    pub limits: LimitSettings,
    pub outbox: OutboxSettings,
    pub links: LinkSettings,
    pub campaigns: CampaignSettings,
    pub sso: SsoSettings,
    pub backup: BackupSettings,
    pub health: HealthSettings,
    pub metrics: MetricsSettings,
}

/// What `/readyz` asks of the machine (see config/default.toml).
#[derive(Debug, Clone, Deserialize)]
pub struct HealthSettings {
    pub min_free_disk_mb: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SessionSettings {
    pub hours: i64,
    pub idle_minutes: i64,
}

/// Who must use two-step sign-in (see config/default.toml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecondFactorRequired {
    Nobody,
    Admins,
    /// Administrators and everyone who leads or interviews in a study: the people who see names.
    Identities,
    Everyone,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SecondFactorSettings {
    pub required_for: SecondFactorRequired,
    pub step_up_minutes: i64,
    pub issuer: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LoginSettings {
    pub window_minutes: i64,
    pub slow_after: i64,
    pub slow_step_ms: u64,
    pub lock_after: i64,
    pub ip_slow_after: i64,
    pub ip_lock_after: i64,
    pub lock_minutes: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenSettings {
    pub reset_hours: i64,
    pub invitation_hours: i64,
}

/// How many invitation emails may leave in an hour (see config/default.toml).
#[derive(Debug, Clone, Deserialize)]
pub struct InvitationSettings {
    pub per_person_per_hour: i64,
    pub per_site_per_hour: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    pub form_bytes: usize,
    pub json_bytes: usize,
    pub upload_bytes: usize,
}

/// How the background worker sends the outbox (see config/default.toml).
#[derive(Debug, Clone, Deserialize)]
pub struct OutboxSettings {
    pub concurrency: usize,
    pub per_second: u32,
    pub batch_size: i64,
    pub poll_ms: u64,
    pub lease_seconds: i64,
    pub max_attempts: i32,
    pub retry_base_seconds: i64,
    pub retry_max_seconds: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CampaignSettings {
    /// How often each instance looks for reminders due and campaigns past their closing date.
    pub schedule_seconds: u64,
    /// When a lead closes a campaign early, people who have started answering still have this many
    /// days to finish; links not yet used stop at once.
    #[serde(default = "default_close_grace_days")]
    pub close_grace_days: i64,
}

fn default_close_grace_days() -> i64 {
    7
}

#[derive(Debug, Clone, Deserialize)]
pub struct LinkSettings {
    /// Unrecognised participant links from one IP address within `window_minutes` before it must wait.
    pub unknown_per_ip: i64,
    /// Open-link joins from one IP address within `window_minutes` before it must wait.
    pub joins_per_ip: i64,
    pub window_minutes: i64,
}

/// Single sign-on with OpenID Connect (see config/default.toml and the README). Off while `issuer` is
/// empty.
#[derive(Debug, Clone, Deserialize)]
pub struct SsoSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// New accounts are made only for these email domains, lower case, without `@`.
    #[serde(deserialize_with = "domain_list")]
    pub allowed_domains: Vec<String>,
    /// Staff may sign in only with single sign-on: password sign-in and setting passwords are refused.
    pub only: bool,
    /// A sign-in through the provider needs no second factor from Voices (the provider asks for one).
    pub counts_as_second_factor: bool,
    /// An `email` claim without `email_verified` counts as verified (a single-tenant Entra issuer).
    pub trust_email_claim: bool,
    pub button_label: String,
}

/// Backups the service takes by itself (see config/default.toml).
#[derive(Debug, Clone, Deserialize)]
pub struct BackupSettings {
    /// Hours between backups; 0 takes none.
    pub every_hours: u64,
    /// Where they go; empty: `backups` in the data folder.
    pub folder: String,
    /// How many to keep: older ones Voices made are deleted once a new one is checked.
    pub keep: usize,
    /// An age public key (`age1...`): backups are encrypted to it; empty leaves them unencrypted.
    pub recipient: String,
}

impl BackupSettings {
    pub fn folder(&self, data_dir: &Path) -> PathBuf {
        if self.folder.trim().is_empty() {
            data_dir.join("backups")
        } else {
            PathBuf::from(self.folder.trim())
        }
    }
}

/// Who may read `/metrics` (see config/default.toml): callers connecting from these networks, and
/// anyone presenting the token.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSettings {
    /// A bearer token that opens `/metrics` from anywhere; empty: no token does.
    pub token: String,
    #[serde(deserialize_with = "network_list")]
    pub allow_from: Vec<ipnet::IpNet>,
}

impl SsoSettings {
    pub fn enabled(&self) -> bool {
        !self.issuer.is_empty()
    }
}

/// A list in a file, or one comma- or space-separated string from an environment variable
/// (`VOICES_SSO__ALLOWED_DOMAINS="trust.nhs.uk, nhs.net"`), which the config crate hands over as text.
fn domain_list<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(list_items(deserializer)?
        .iter()
        .map(|d| d.trim().trim_start_matches('@').to_lowercase())
        .filter(|d| !d.is_empty())
        .collect())
}

/// Networks (`10.0.0.0/8`) or single addresses (`::1`), as a list or as one comma- or space-separated
/// string from an environment variable.
fn network_list<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<ipnet::IpNet>, D::Error> {
    list_items(deserializer)?
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "{item:?} is not an address or a network such as 10.0.0.0/8"
                    ))
                })
        })
        .collect()
}

/// The items of a list setting, which the config crate hands over as text when it came from an
/// environment variable.
fn list_items<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        List(Vec<String>),
    }
    Ok(match Given::deserialize(deserializer)? {
        Given::Text(text) => text.split([',', ' ', ';']).map(str::to_string).collect(),
        Given::List(list) => list,
    })
}

impl Settings {
    /// Loads settings the way the service does at start: defaults, local file, environment.
    pub fn load() -> anyhow::Result<Self> {
        Self::read()?.checked()
    }

    /// The settings as given, before `checked`: for `voices check`, which reports each rule apart.
    pub fn read() -> anyhow::Result<Self> {
        let local = std::env::var("VOICES_CONFIG").unwrap_or_else(|_| "config/local.toml".into());
        let settings: Settings = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .add_source(config::File::new(&local, config::FileFormat::Toml).required(false))
            .add_source(
                config::Environment::with_prefix("VOICES")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .context("configuration has a wrong or missing value")?;
        Ok(settings)
    }

    /// The built-in defaults alone: the starting point for tests and tools.
    pub fn defaults() -> Self {
        config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .expect("config/default.toml is valid")
    }

    /// Fills derived values and refuses unsafe production settings, with a message that says what to do.
    pub fn checked(self) -> anyhow::Result<Self> {
        let settings = self.completed()?;
        settings.check_secret_key()?;
        settings.check_https()?;
        Ok(settings)
    }

    /// Fills derived values and checks what must hold in any environment.
    pub fn completed(mut self) -> anyhow::Result<Self> {
        if self.database_url.trim().is_empty() {
            self.database_url = format!("sqlite://{}", self.data_dir.join("voices.db").display());
        }
        self.base_url = self.base_url.trim_end_matches('/').to_string();
        url::Url::parse(&self.base_url)
            .with_context(|| format!("VOICES_BASE_URL {:?} is not a URL", self.base_url))?;
        self.check_sso()?;
        self.metrics.token = self.metrics.token.trim().to_string();
        if !self.metrics.token.is_empty() && self.metrics.token.len() < 32 {
            bail!("metrics.token is too short to keep /metrics private: use at least 32 random characters, e.g. `openssl rand -hex 32`, or leave it empty");
        }
        Ok(self)
    }

    pub fn check_secret_key(&self) -> anyhow::Result<()> {
        if self.env == Environment::Production && self.secret_key.trim().is_empty() {
            bail!("VOICES_SECRET_KEY must be set in production (64 random bytes, hex or base64; e.g. `openssl rand -hex 64`)");
        }
        Ok(())
    }

    pub fn check_https(&self) -> anyhow::Result<()> {
        if self.env == Environment::Production && !self.base_url.starts_with("https://") {
            bail!(
                "VOICES_BASE_URL must start with https:// in production (it is {:?})",
                self.base_url
            );
        }
        Ok(())
    }

    fn check_sso(&mut self) -> anyhow::Result<()> {
        let sso = &mut self.sso;
        sso.issuer = sso.issuer.trim().to_string();
        sso.client_id = sso.client_id.trim().to_string();
        if !sso.enabled() {
            if sso.only {
                bail!("sso.only is on but sso.issuer is empty: nobody could sign in. Set VOICES_SSO__ISSUER or turn VOICES_SSO__ONLY off");
            }
            return Ok(());
        }
        let issuer = url::Url::parse(&sso.issuer)
            .with_context(|| format!("VOICES_SSO__ISSUER {:?} is not a URL", sso.issuer))?;
        if self.env == Environment::Production && issuer.scheme() != "https" {
            bail!(
                "VOICES_SSO__ISSUER must start with https:// in production (it is {:?})",
                sso.issuer
            );
        }
        if sso.client_id.is_empty() {
            bail!("sso.issuer is set but sso.client_id is empty: set VOICES_SSO__CLIENT_ID to the application (client) id the provider gave Voices");
        }
        if sso.button_label.trim().is_empty() {
            bail!("sso.button_label is empty: people need to know what the button does, e.g. \"Sign in with NHSmail\"");
        }
        Ok(())
    }

    /// How the database pool behaves for the service.
    pub fn db_options(&self) -> crate::db::DbOptions {
        crate::db::DbOptions {
            pool_size: self.database_pool_size,
            wait: std::time::Duration::from_millis(self.database_wait_ms.max(100)),
            sqlite_synchronous: self.sqlite_synchronous,
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.base_url.starts_with("https://")
    }

    /// The host of the base URL: the right-hand side of every Message-ID the service writes.
    pub fn message_domain(&self) -> String {
        url::Url::parse(&self.base_url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_else(|| "localhost".into())
    }

    /// The key that signs and encrypts cookies: configured, or in development generated once and kept.
    pub fn secret_key_bytes(&self) -> anyhow::Result<Vec<u8>> {
        if !self.secret_key.trim().is_empty() {
            return decode_key(self.secret_key.trim());
        }
        let path = self.data_dir.join("secret.key");
        if path.exists() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            return decode_key(text.trim());
        }
        let key = crate::security::random_bytes::<64>();
        write_private(&path, &hex::encode(key))?;
        tracing::info!(path = %path.display(), "generated a development secret key");
        Ok(key.to_vec())
    }
}

fn decode_key(text: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine;
    let bytes = hex::decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(text))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
        .context("the secret key must be hex or base64")?;
    if bytes.len() < 64 {
        bail!(
            "the secret key must be at least 64 bytes (it is {})",
            bytes.len()
        );
    }
    Ok(bytes)
}

fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_requires_secret_and_https() {
        let mut s = Settings::defaults();
        s.env = Environment::Production;
        let err = s.clone().checked().unwrap_err().to_string();
        assert!(err.contains("VOICES_SECRET_KEY"), "{err}");
        s.secret_key = "ab".repeat(64);
        let err = s.clone().checked().unwrap_err().to_string();
        assert!(err.contains("https://"), "{err}");
        s.base_url = "https://voices.example.org/".into();
        let s = s.checked().unwrap();
        assert_eq!(s.base_url, "https://voices.example.org");
        assert!(s.secure_cookies());
    }

    #[test]
    fn single_sign_on_settings_are_checked_at_start() {
        let mut s = Settings::defaults();
        assert!(!s.sso.enabled());
        s.sso.only = true;
        let err = s.clone().checked().unwrap_err().to_string();
        assert!(err.contains("nobody could sign in"), "{err}");
        s.sso.only = false;
        s.sso.issuer = " https://login.microsoftonline.com/tenant/v2.0 ".into();
        let err = s.clone().checked().unwrap_err().to_string();
        assert!(err.contains("VOICES_SSO__CLIENT_ID"), "{err}");
        s.sso.client_id = "voices".into();
        let s = s.checked().unwrap();
        assert_eq!(
            s.sso.issuer,
            "https://login.microsoftonline.com/tenant/v2.0"
        );
        let mut s = s;
        s.sso.issuer = "not a url".into();
        assert!(s.checked().unwrap_err().to_string().contains("not a URL"));
    }

    #[test]
    fn allowed_domains_come_as_a_list_or_as_text() {
        let from = |value: &str| {
            config::Config::builder()
                .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
                .set_override("sso.allowed_domains", value)
                .unwrap()
                .build()
                .unwrap()
                .try_deserialize::<Settings>()
                .unwrap()
                .sso
                .allowed_domains
        };
        assert_eq!(from("Trust.NHS.uk, @nhs.net"), ["trust.nhs.uk", "nhs.net"]);
        assert!(from("").is_empty());
        assert!(Settings::defaults().sso.allowed_domains.is_empty());
    }

    #[test]
    fn metrics_networks_come_as_a_list_or_as_text_and_bad_ones_are_named() {
        let from = |value: &str| {
            config::Config::builder()
                .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
                .set_override("metrics.allow_from", value)
                .unwrap()
                .build()
                .unwrap()
                .try_deserialize::<Settings>()
                .map(|s| s.metrics.allow_from)
        };
        let networks = from("10.0.0.0/8, ::1").unwrap();
        assert_eq!(networks.len(), 2);
        assert_eq!(networks[1].prefix_len(), 128);
        assert!(from("").unwrap().is_empty());
        let error = format!("{:#}", from("10.0.0.0/33").unwrap_err());
        assert!(error.contains("10.0.0.0/33"), "{error}");
        let defaults = Settings::defaults().metrics;
        assert!(defaults.token.is_empty());
        assert!(defaults.allow_from.iter().all(|n| n.addr().is_loopback()));
        let mut s = Settings::defaults();
        s.metrics.token = "short".into();
        assert!(s
            .checked()
            .unwrap_err()
            .to_string()
            .contains("metrics.token"));
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(decode_key(&"ab".repeat(10)).is_err());
        assert_eq!(decode_key(&"ab".repeat(64)).unwrap().len(), 64);
    }

    #[test]
    fn development_key_is_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::defaults();
        s.data_dir = dir.path().to_path_buf();
        let first = s.secret_key_bytes().unwrap();
        assert_eq!(first, s.secret_key_bytes().unwrap());
        assert_eq!(first.len(), 64);
    }
}
