//! What the benchmarks share: a scratch PostgreSQL database, signing in as a browser does, settings
//! from the environment and latency percentiles.

use std::time::Duration;

use anyhow::{bail, Context};
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::StatusCode;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A PostgreSQL database created for one run and dropped afterwards.
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl ScratchDatabase {
    pub fn create(server_url: &str) -> anyhow::Result<Self> {
        let mut admin = url::Url::parse(server_url)
            .with_context(|| format!("the PostgreSQL URL {server_url:?} is not a URL"))?;
        // libpq waits indefinitely for an unresponsive host unless told otherwise.
        if !admin.query_pairs().any(|(key, _)| key == "connect_timeout") {
            admin.query_pairs_mut().append_pair("connect_timeout", "5");
        }
        let name = format!("voices_bench_{}", uuid::Uuid::new_v4().simple());
        let mut url = admin.clone();
        url.set_path(&name);
        let admin_url = admin.to_string();
        let mut conn = PgConnection::establish(&admin_url)
            .with_context(|| format!("cannot connect to {server_url}"))?;
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .with_context(|| format!("cannot create database {name} on {server_url}"))?;
        Ok(ScratchDatabase {
            admin_url,
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        // FORCE ends any connection still open, e.g. if the server could not be killed cleanly.
        let dropped = PgConnection::establish(&self.admin_url)
            .map_err(anyhow::Error::from)
            .and_then(|mut conn| {
                diesel::sql_query(format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ))
                .execute(&mut conn)
                .map_err(anyhow::Error::from)
            });
        if let Err(error) = dropped {
            eprintln!("warning: could not drop database {}: {error:#}", self.name);
        }
    }
}

/// The database of the PostgreSQL run on the server at `VOICES_BENCH_POSTGRES_URL` (default
/// `postgres://postgres@127.0.0.1:5432/postgres`). When it cannot be created the run is skipped:
/// `Ok(Err(why))`, printed on stderr too; with `VOICES_BENCH_REQUIRE_POSTGRES=1` that is an error instead.
/// Keep the database until the server using it is gone: dropping it drops the database.
pub fn postgres_scratch() -> anyhow::Result<Result<ScratchDatabase, String>> {
    let admin_url =
        std::env::var("VOICES_BENCH_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
    match ScratchDatabase::create(&admin_url) {
        Ok(scratch) => Ok(Ok(scratch)),
        Err(error) if std::env::var("VOICES_BENCH_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            Err(error
                .context("VOICES_BENCH_REQUIRE_POSTGRES=1 and the PostgreSQL run cannot start"))
        }
        Err(error) => {
            let skipped = format!("PostgreSQL run skipped: {error:#}");
            eprintln!("{skipped}");
            Ok(Err(skipped))
        }
    }
}

/// A whole number from the environment, or `default` when the variable is not set.
pub fn env_number(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .with_context(|| format!("{name}={text:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}

/// Nearest-rank percentile in milliseconds of sorted latencies.
pub fn percentile_ms(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// The CSRF token in a page's forms.
pub fn csrf_token(page: &str) -> anyhow::Result<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let start = page.find(marker).context("no CSRF token on the page")? + marker.len();
    Ok(page[start..].chars().take_while(|c| *c != '"').collect())
}

/// Signs a client with a cookie store in through the sign-in page at `base`, with its CSRF token.
pub async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let csrf = csrf_token(&page)?;
    let signed_in = client
        .post(format!("{base}/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &csrf),
        ])
        .send()
        .await?;
    if signed_in.status() != StatusCode::SEE_OTHER {
        bail!("signing in answered {}", signed_in.status());
    }
    Ok(())
}
