//! What the benchmarks share: a scratch PostgreSQL database, and signing in as a browser does.

use anyhow::{bail, Context};
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::StatusCode;

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
