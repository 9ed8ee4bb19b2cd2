//! `voices check`: the settings and everything they point at, tried before a start (or after a change)
//! without starting, each reported with what was found or, plainly, what is wrong. And `voices probe`,
//! the container's health check, which asks the running service itself.

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::config::{Environment, Settings};
use crate::db::{Backend, Db};
use crate::mail::smtp::Smtp;
use crate::mail::SendError;

/// How long the mail server has to answer: the operator is watching.
const MAIL_WAIT: Duration = Duration::from_secs(15);
/// How long the probe waits for the service, within a health check's own timeout.
const PROBE_WAIT: Duration = Duration::from_secs(4);

/// What was checked, and what was found (Ok) or what is wrong (Err).
pub struct Check {
    pub name: &'static str,
    pub outcome: anyhow::Result<String>,
}

#[derive(Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome.is_ok())
    }

    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| c.outcome.is_err()).count()
    }

    fn add(&mut self, name: &'static str, outcome: anyhow::Result<String>) {
        self.checks.push(Check { name, outcome });
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            match &check.outcome {
                Ok(found) => writeln!(f, "ok      {:<12} {found}", check.name)?,
                Err(error) => writeln!(f, "FAILED  {:<12} {error:#}", check.name)?,
            }
        }
        Ok(())
    }
}

/// Reads the settings as `serve` would and tries each thing they name. Only the settings failing stops
/// the rest: everything else is reported, so one run lists every problem.
pub async fn run() -> Report {
    let mut report = Report::default();
    let settings = match Settings::read().and_then(Settings::completed) {
        Ok(settings) => settings,
        Err(error) => {
            report.add("settings", Err(error));
            return report;
        }
    };
    let environment = match settings.env {
        Environment::Production => "production",
        Environment::Development => "development",
    };
    report.add("settings", Ok(format!("read, for {environment}")));
    report.add("secret key", secret_key(&settings));
    report.add(
        "base URL",
        settings.check_https().map(|()| settings.base_url.clone()),
    );
    report.add("data folder", writable(&settings.data_dir));
    match connect(&settings) {
        Ok(Some(db)) => {
            report.add("database", Ok(format!("{} answers", db.backend().name())));
            report.add("schema", schema(&db));
        }
        Ok(None) => report.add(
            "database",
            Ok(format!(
                "no SQLite file yet at {}: the first start (or `voices migrate`) makes it",
                crate::db::sqlite_path(&settings.database_url)
                    .unwrap_or_default()
                    .display()
            )),
        ),
        Err(error) => report.add("database", Err(error)),
    }
    report.add("mail", mail(&settings).await);
    report
}

fn secret_key(settings: &Settings) -> anyhow::Result<String> {
    settings.check_secret_key()?;
    if settings.secret_key.trim().is_empty() {
        return Ok(format!(
            "none set: development makes one and keeps it in {}",
            settings.data_dir.join("secret.key").display()
        ));
    }
    let bytes = settings.secret_key_bytes()?;
    Ok(format!("set, {} bytes", bytes.len()))
}

/// The service makes the folder and writes in it at start; trying now turns a wrong owner or a
/// read-only volume into a line here rather than a failed start.
fn writable(dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let probe = dir.join(format!(".voices-check-{}", std::process::id()));
    std::fs::write(&probe, b"")
        .with_context(|| format!("{} cannot be written to", dir.display()))?;
    std::fs::remove_file(&probe).with_context(|| format!("removing {}", probe.display()))?;
    Ok(format!("{} can be written to", dir.display()))
}

/// The database, or None for a SQLite file not made yet (connecting would make an empty one).
fn connect(settings: &Settings) -> anyhow::Result<Option<Db>> {
    if crate::db::backend_of(&settings.database_url)? == Backend::Sqlite
        && !crate::db::sqlite_path(&settings.database_url)?.exists()
    {
        return Ok(None);
    }
    Db::connect(&settings.database_url, 1).map(Some)
}

fn schema(db: &Db) -> anyhow::Result<String> {
    let newest = crate::db::latest_migration(db.backend())?;
    Ok(match db.check_schema_not_newer()? {
        None => format!("empty: the first start (or `voices migrate`) makes the tables, up to migration {newest}"),
        Some(at) if at == newest => format!("at migration {at}, this version's newest"),
        Some(at) => format!(
            "at migration {at}; this version's newest is {newest}: `voices migrate` (or the next start) applies the rest"
        ),
    })
}

async fn mail(settings: &Settings) -> anyhow::Result<String> {
    settings
        .mail_from
        .parse::<lettre::message::Mailbox>()
        .with_context(|| format!("mail_from {:?} is not an email address", settings.mail_from))?;
    if crate::mail::writes_files(settings) {
        return Ok(crate::mail::no_server_note(settings).unwrap_or_default());
    }
    let smtp = Smtp::from_url(&settings.smtp_url, 1)
        .context("VOICES_SMTP_URL is not a valid smtp:// or smtps:// URL")?;
    // Host and port only: the URL may hold the password.
    let host = url::Url::parse(&settings.smtp_url)
        .ok()
        .and_then(|url| {
            let host = url.host_str()?.to_string();
            Some(
                url.port()
                    .map_or(host.clone(), |port| format!("{host}:{port}")),
            )
        })
        .unwrap_or_default();
    match tokio::time::timeout(MAIL_WAIT, smtp.test_connection()).await {
        Ok(Ok(())) => Ok(format!(
            "the mail server at {host} answered and accepted the sign-in"
        )),
        Ok(Err(SendError::Permanent(reason) | SendError::Temporary(reason))) => {
            bail!("{host}: {reason}")
        }
        Err(_) => bail!(
            "the mail server at {host} did not answer within {} seconds",
            MAIL_WAIT.as_secs()
        ),
    }
}

/// Where `voices probe` asks by default: `/readyz` on the port the service listens on, through
/// loopback when it listens on every address.
pub fn readiness_url(bind: &str) -> String {
    match bind.parse::<SocketAddr>() {
        Ok(mut address) => {
            if address.ip().is_unspecified() {
                address.set_ip(match address.ip() {
                    IpAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
                    IpAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
                });
            }
            format!("http://{address}/readyz")
        }
        Err(_) => format!("http://{bind}/readyz"),
    }
}

/// One plain HTTP request to the service itself, fine only when it answers 200. Small enough that the
/// container image needs no HTTP client of its own.
pub fn probe(url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("{url:?} is not a URL"))?;
    if parsed.scheme() != "http" {
        bail!("the probe asks the service directly, over http (not through the TLS proxy)");
    }
    let address = parsed
        .socket_addrs(|| Some(80))
        .with_context(|| format!("finding {url}"))?
        .into_iter()
        .next()
        .with_context(|| format!("{url} names no address"))?;
    let mut stream = TcpStream::connect_timeout(&address, PROBE_WAIT)
        .with_context(|| format!("connecting to {address}"))?;
    stream.set_read_timeout(Some(PROBE_WAIT))?;
    stream.set_write_timeout(Some(PROBE_WAIT))?;
    write!(
        stream,
        "GET {} HTTP/1.0\r\nHost: {}\r\n\r\n",
        &parsed[url::Position::BeforePath..],
        &parsed[url::Position::BeforeHost..url::Position::AfterPort]
    )?;
    let mut status = String::new();
    BufReader::new(stream)
        .read_line(&mut status)
        .with_context(|| format!("reading the answer from {url}"))?;
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        bail!("{url} answered {:?}", status.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_asks_the_service_through_loopback() {
        assert_eq!(
            readiness_url("0.0.0.0:8080"),
            "http://127.0.0.1:8080/readyz"
        );
        assert_eq!(readiness_url("[::]:8080"), "http://[::1]:8080/readyz");
        assert_eq!(readiness_url("10.0.0.5:80"), "http://10.0.0.5:80/readyz");
        assert_eq!(
            readiness_url("localhost:8080"),
            "http://localhost:8080/readyz"
        );
    }
}
