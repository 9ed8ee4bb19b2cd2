//! Audit log reading at scale: starts the app in-process, fills the log with 1,000,000 events (spread
//! over 30 days, 200 people, 50 studies and 60 kinds, as a busy trust's year might be) straight into the
//! database in one statement, then times what a reviewer does: the administrator's page (HTML, signed
//! in) and the JSON API, newest first, 1,000 pages deep by keyset (`before`), and each filter on its own
//! (person, study, kind, a day in the middle) and together, and a lead's study trail. Each is
//! requested `VOICES_BENCH_REQUESTS` times (default 20) after two warm-ups; p50 and p95 are printed.
//!
//! The target (issue 16): every page under 50 ms on SQLite on this 2-core machine.
//!
//! Run with `cargo bench --bench audit`. SQLite, then PostgreSQL on the server at
//! `VOICES_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`; skipped when it
//! cannot be reached, an error with `VOICES_BENCH_REQUIRE_POSTGRES=1`; `VOICES_BENCH_POSTGRES=0`
//! for SQLite only). `VOICES_BENCH_EVENTS` changes the number of events (default 1,000,000).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use diesel::RunQueryDsl;
use reqwest::StatusCode;

use voices::app::{build_state, run};
use voices::audit::Origin;
use voices::config::{SecondFactorRequired, Settings};
use voices::db::{Backend, Db};
use voices::identity::Role;

#[path = "support/shared.rs"]
// Shared with the other drivers; this one uses a few of its helpers.
#[allow(dead_code)]
mod shared;
use shared::{env_number, percentile_ms, postgres_scratch, sign_in};

const PASSWORD: &str = "a long passphrase for the audit driver";
const PEOPLE: i64 = 200;
const STUDIES: i64 = 50;
const KINDS: i64 = 60;
const DAYS: i64 = 30;
const WARM_UP: usize = 2;

/// Fills the log in one statement per backend: a generated series of ids, each event's fields derived
/// from its number, times rising with the id as recorded events' do. Person 0 stands for the system.
fn fill(db_backend: Backend, events: u64) -> String {
    let seconds = DAYS * 86_400;
    let columns = "occurred_at, actor_user_id, action, object_type, object_id, ip_address, \
                   request_id, details, study_id";
    match db_backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {events}) \
             INSERT INTO audit_events ({columns}) \
             SELECT datetime('2026-11-01', '+' || (i * {seconds} / {events}) || ' seconds'), \
             CASE WHEN i % 7 = 0 THEN NULL ELSE 1 + i % {PEOPLE} END, \
             'action_' || (i * 7919 % {KINDS}), 'participant', CAST(i % 5000 AS TEXT), \
             '10.0.' || (i % 250) || '.' || (i % 200), NULL, \
             '{{\"participants\":[\"P-' || (i % 9000) || '\"]}}', \
             CASE WHEN i % 3 = 0 THEN NULL ELSE 1 + i % {STUDIES} END FROM n"
        ),
        Backend::Postgres => format!(
            "INSERT INTO audit_events ({columns}) \
             SELECT TIMESTAMP '2026-11-01' + (i * {seconds} / {events}) * INTERVAL '1 second', \
             CASE WHEN i % 7 = 0 THEN NULL ELSE 1 + i % {PEOPLE} END, \
             'action_' || (i * 7919 % {KINDS}), 'participant', CAST(i % 5000 AS TEXT), \
             '10.0.' || (i % 250) || '.' || (i % 200), NULL, \
             '{{\"participants\":[\"P-' || (i % 9000) || '\"]}}', \
             CASE WHEN i % 3 = 0 THEN NULL ELSE 1 + i % {STUDIES} END \
             FROM generate_series(CAST(1 AS BIGINT), {events}) AS i"
        ),
    }
}

/// The accounts the events name (ids 1..=PEOPLE; the first is the administrator who reads the log),
/// and the studies, each led by person 2.
async fn seed(db: &Db) -> anyhow::Result<()> {
    voices::accounts::actions::create_user(
        db,
        &Origin::command_line(),
        "reviewer@example.org",
        "Reviewer",
        Role::Admin,
        PASSWORD.into(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the administrator: {e}"))?;
    voices::accounts::actions::create_user(
        db,
        &Origin::command_line(),
        "lead@example.org",
        "Lead",
        Role::Member,
        PASSWORD.into(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the lead: {e}"))?;
    db.write(|conn| {
        for person in 3..=PEOPLE {
            voices::accounts::queries::insert_user(
                conn,
                &format!("person{person}@example.org"),
                &format!("Person {person}"),
                Role::Member,
                None,
            )?;
        }
        for study in 1..=STUDIES {
            let id =
                voices::studies::queries::insert_study(conn, &format!("Study {study}"), "", 2)?;
            voices::studies::queries::insert_member(
                conn,
                id,
                2,
                voices::studies::rules::Roles {
                    lead: true,
                    ..Default::default()
                },
                voices::studies::rules::Perspective::Staff,
            )?;
        }
        Ok::<_, anyhow::Error>(())
    })
    .await
}

struct Timing {
    name: String,
    p50: f64,
    p95: f64,
    rows: usize,
}

async fn time(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    requests: usize,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let mut latencies = Vec::with_capacity(requests);
    let mut rows = 0;
    for round in 0..WARM_UP + requests {
        let mut request = client.get(url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let started = Instant::now();
        let response = request.send().await?;
        let status = response.status();
        let body = response.text().await?;
        let took = started.elapsed();
        if status != StatusCode::OK {
            bail!("{url} answered {status}: {}", &body[..body.len().min(300)]);
        }
        rows = if token.is_some() {
            serde_json::from_str::<serde_json::Value>(&body)?
                .as_array()
                .map_or(0, Vec::len)
        } else {
            // Less the table's heading row.
            body.matches("<tr>").count().saturating_sub(1)
        };
        if round >= WARM_UP {
            latencies.push(took);
        }
    }
    latencies.sort();
    Ok((latencies, rows))
}

async fn run_on(backend: Backend, database_url: String, events: u64) -> anyhow::Result<()> {
    let requests = usize::try_from(env_number("VOICES_BENCH_REQUESTS", 20)?)?;
    let dir = tempfile::tempdir()?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut settings = Settings::load()?;
    settings.data_dir = dir.path().to_path_buf();
    settings.database_url = database_url;
    settings.base_url = format!("http://{}", listener.local_addr()?);
    settings.second_factor.required_for = SecondFactorRequired::Nobody;
    let base = settings.base_url.clone();
    let state = tokio::task::spawn_blocking(move || build_state(settings)).await??;
    let db = state.db.clone();
    let server = run(listener, state)?;
    let handle = server.handle();
    tokio::spawn(server);

    seed(&db).await?;
    let filling = Instant::now();
    let statement = fill(backend, events);
    db.write(move |conn| {
        diesel::sql_query(statement)
            .execute(conn)
            .context("filling the log")
    })
    .await?;
    // PostgreSQL's autovacuum analyses a table that grows; SQLite is left as the service leaves it,
    // with no statistics.
    if backend == Backend::Postgres {
        db.read(|conn| {
            diesel::sql_query("ANALYZE audit_events")
                .execute(conn)
                .map_err(anyhow::Error::from)
        })
        .await?;
    }
    let filled_in = filling.elapsed();

    let (_, token) =
        voices::accounts::actions::create_api_token(&db, &Origin::command_line(), 1, "bench")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, lead_token) =
        voices::accounts::actions::create_api_token(&db, &Origin::command_line(), 2, "bench")
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    sign_in(&client, &base, "reviewer@example.org", PASSWORD).await?;

    // The id 1,000 pages of 50 down, as a reviewer clicking "Older" a thousand times would reach it.
    let newest: i64 = db
        .read(|conn| {
            use diesel::dsl::max;
            use diesel::QueryDsl;
            use voices::db::schema::audit_events;
            audit_events::table
                .select(max(audit_events::id))
                .first::<Option<i64>>(conn)
                .map_err(anyhow::Error::from)
        })
        .await?
        .context("no events")?;
    let deep = newest - 50_000;
    let middle_day = "2026-11-16";
    let filters = [
        ("newest first", String::new()),
        ("1,000 pages deep (before=)", format!("before={deep}")),
        ("person", "person=57".to_string()),
        ("study", "study=17".to_string()),
        ("kind", "action=action_42".to_string()),
        ("one day", format!("from={middle_day}&to={middle_day}")),
        ("person, deep", format!("person=57&before={deep}")),
        (
            "all four together",
            format!("person=57&study=7&action=action_37&from=2026-11-10&to={middle_day}"),
        ),
    ];
    let mut timings = Vec::new();
    for (name, query) in &filters {
        let page = format!("{base}/admin/audit?{query}");
        let (latencies, rows) = time(&client, &page, None, requests).await?;
        timings.push(Timing {
            name: format!("page: {name}"),
            p50: percentile_ms(&latencies, 0.5),
            p95: percentile_ms(&latencies, 0.95),
            rows,
        });
        let api = format!("{base}/api/v1/audit-events?limit=50&{query}");
        let (latencies, rows) = time(&client, &api, Some(&token), requests).await?;
        timings.push(Timing {
            name: format!("API: {name}"),
            p50: percentile_ms(&latencies, 0.5),
            p95: percentile_ms(&latencies, 0.95),
            rows,
        });
    }
    let trail = format!("{base}/api/v1/studies/17/audit-events?limit=50&before={deep}");
    let (latencies, rows) = time(&client, &trail, Some(&lead_token), requests).await?;
    timings.push(Timing {
        name: "API: a lead's study trail, deep".into(),
        p50: percentile_ms(&latencies, 0.5),
        p95: percentile_ms(&latencies, 0.95),
        rows,
    });
    handle.stop(false).await;

    println!(
        "\n{} with {events} events (filled in {:.1} s), {requests} requests each:",
        backend.name(),
        filled_in.as_secs_f64()
    );
    println!("| request | rows | p50 | p95 |");
    println!("|---|---|---|---|");
    for t in &timings {
        println!(
            "| {} | {} | {:.1} ms | {:.1} ms |",
            t.name, t.rows, t.p50, t.p95
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    voices::security::install_crypto_provider();
    let events = env_number("VOICES_BENCH_EVENTS", 1_000_000)?;
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("voices.db").display());
    run_on(Backend::Sqlite, sqlite, events).await?;
    if std::env::var("VOICES_BENCH_POSTGRES").is_ok_and(|v| v == "0") {
        return Ok(());
    }
    if let Ok(scratch) = postgres_scratch()? {
        run_on(Backend::Postgres, scratch.url.clone(), events).await?;
    }
    Ok(())
}
