//! Load driver: starts the real `voices` binary as a separate process, once on SQLite and once on
//! PostgreSQL, drives `GET /healthz` and `GET /login` with 32 concurrent keep-alive connections, then
//! seeds a 60-question questionnaire with history and comments through the JSON API and has 16 signed-in
//! editors load its editor page, and prints throughput, latency and the server's resident memory as
//! Markdown tables.
//!
//! Run with `cargo bench --bench load`. Environment:
//! - `VOICES_BENCH_SECONDS`: measured seconds per endpoint (default 10);
//! - `VOICES_BENCH_POSTGRES_URL`: a PostgreSQL server URL allowed to create databases
//!   (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! - `VOICES_BENCH_REQUIRE_POSTGRES=1`: fail instead of skipping the PostgreSQL run when it cannot be set up.

use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[path = "support/shared.rs"]
mod shared;
use shared::{env_number, mib, percentile_ms};
#[path = "support/server.rs"]
mod server;
use server::{Database, Server};

const CONNECTIONS: usize = 32;
const ENDPOINTS: [&str; 2] = ["/healthz", "/login"];
/// The co-design group editing together: each editor has a browser session of their own.
const EDITORS: usize = 16;
const EDITOR_SECTIONS: usize = 3;
const EDITOR_QUESTIONS: usize = 60;
const EDITOR_EMAIL: &str = "bench.editor@example.org";
const EDITOR_PASSWORD: &str = "a long passphrase for the load driver";
const DEFAULT_SECONDS: u64 = 10;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const WARM_UP: Duration = Duration::from_secs(1);
// Long enough for the pool's background connections and start-up allocations to settle, so the idle
// figure is the steady state rather than a snapshot taken mid-start.
const SETTLE: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds = env_number("VOICES_BENCH_SECONDS", DEFAULT_SECONDS)?;
    let duration = Duration::from_secs(seconds);

    let (reports, skipped) =
        server::on_both_databases(|backend, database| measure(backend, database, duration)).await?;
    print_tables(&reports, seconds);
    if let Some(note) = skipped {
        println!("\n{note}");
    }
    Ok(())
}

struct Report {
    backend: &'static str,
    idle_rss_kib: u64,
    loaded_rss_kib: u64,
    scenarios: Vec<Scenario>,
}

/// One measured load: what was requested, how many connections the server saw, what came back.
struct Scenario {
    name: String,
    connections: usize,
    tally: Tally,
}

async fn measure(
    backend: &'static str,
    database: Database,
    duration: Duration,
) -> anyhow::Result<Report> {
    eprintln!("{backend}: starting the server");
    let mut server = Server::start(&database)?;
    server.wait_until_healthy().await?;
    tokio::time::sleep(SETTLE).await;
    let idle_rss_kib = server.status_kib("VmRSS")?;

    // One client per task, each allowed one idle connection, and each task sends its requests one after
    // another: that is exactly one keep-alive connection per task, 32 in all.
    let clients = (0..CONNECTIONS)
        .map(|_| {
            reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .pool_max_idle_per_host(1)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut scenarios = Vec::new();
    for endpoint in ENDPOINTS {
        let url = server.url(endpoint);
        eprintln!("{backend}: GET {endpoint}, {CONNECTIONS} connections, {duration:?}");
        scenarios.push(
            run_scenario(&server, &clients, format!("GET {endpoint}"), &url, duration).await?,
        );
    }
    // Closed now, so the editors' connections are the only ones the server holds when they are counted.
    drop(clients);

    eprintln!("{backend}: seeding a questionnaire of {EDITOR_QUESTIONS} questions through the API");
    let editor_path = seed_editor(&server).await?;
    let mut editors = Vec::with_capacity(EDITORS);
    for _ in 0..EDITORS {
        editors.push(signed_in_editor(&server).await?);
    }
    eprintln!("{backend}: GET {editor_path}, {EDITORS} signed-in editors, {duration:?}");
    let name = format!("GET {editor_path} (editor, {EDITOR_QUESTIONS} questions)");
    let url = server.url(&editor_path);
    scenarios.push(run_scenario(&server, &editors, name, &url, duration).await?);

    server.ensure_running().context("after the load")?;
    let loaded_rss_kib = server.status_kib("VmRSS")?;
    Ok(Report {
        backend,
        idle_rss_kib,
        loaded_rss_kib,
        scenarios,
    })
}

/// Warms up, counts the server's connections, then measures.
async fn run_scenario(
    server: &Server,
    clients: &[reqwest::Client],
    name: String,
    url: &str,
    duration: Duration,
) -> anyhow::Result<Scenario> {
    load(clients, url, WARM_UP).await;
    // The warm-up connections are still open (idle, kept alive): count them to confirm all are used.
    let connections = open_connections(server.port)?;
    Ok(Scenario {
        name,
        connections,
        tally: load(clients, url, duration).await,
    })
}

/// Creates an editor account and a study with a questionnaire of `EDITOR_QUESTIONS` questions in
/// `EDITOR_SECTIONS` sections, through the CLI and the JSON API as an operator and a script would. Each
/// question is tagged, has a probe, is changed twice with a reason (so it has history) and has an open
/// comment thread; each section has one too. Returns the editor page's path.
async fn seed_editor(server: &Server) -> anyhow::Result<String> {
    let api = server.admin(
        EDITOR_EMAIL,
        "Bench Editor",
        EDITOR_PASSWORD,
        REQUEST_TIMEOUT,
    )?;

    let study = api
        .call(
            Method::POST,
            "/studies",
            Some(json!({ "title": "Load test" })),
        )
        .await?["study"]["id"]
        .as_i64()
        .context("no study id")?;
    let questionnaire = api
        .call(
            Method::POST,
            &format!("/studies/{study}/questionnaires"),
            Some(json!({ "title": "Interview guide", "description": "For the load driver" })),
        )
        .await?["questionnaire"]["id"]
        .as_i64()
        .context("no questionnaire id")?;
    let mut tree = Value::Null;
    for title in ["Before", "During", "After"].iter().take(EDITOR_SECTIONS) {
        tree = api
            .call(
                Method::POST,
                &format!("/studies/{study}/questionnaires/{questionnaire}/sections"),
                Some(json!({ "title": title, "introduction": "We start with you.", "reason": "A first draft" })),
            )
            .await?;
    }
    // Each answer holds the whole tree, so the last one lists every section.
    let sections: Vec<i64> = tree["sections"]
        .as_array()
        .context("no sections in the tree")?
        .iter()
        .filter_map(|s| s["section"]["id"].as_i64())
        .collect();
    for &section in &sections {
        api.call(
            Method::POST,
            &format!("/studies/{study}/sections/{section}/comments"),
            Some(json!({ "body": "Is this the right order?" })),
        )
        .await?;
    }
    for n in 0..EDITOR_QUESTIONS {
        let section = sections[n % sections.len()];
        let mut question = json!({
            "kind": "long_text",
            "text": format!("What helped you take part in improvement project {n}?"),
            "help_text": "Take your time.",
            "for_staff": true,
            "for_service_users": true,
            "for_carers": true,
            "probes": ["Can you say more about that?"],
            "tags": [2],
        });
        let id = api
            .call(
                Method::POST,
                &format!("/studies/{study}/sections/{section}/questions"),
                Some(question.clone()),
            )
            .await?["id"]
            .as_i64()
            .context("no question id")?;
        for (lock_version, text, reason) in [
            (
                0,
                format!("What made it easier to take part in project {n}?"),
                "Plainer words",
            ),
            (
                1,
                format!("What made taking part in project {n} easier?"),
                "Shorter",
            ),
        ] {
            question["text"] = json!(text);
            question["lock_version"] = json!(lock_version);
            question["reason"] = json!(reason);
            api.call(
                Method::PUT,
                &format!("/studies/{study}/questions/{id}"),
                Some(question.clone()),
            )
            .await?;
        }
        api.call(
            Method::POST,
            &format!("/studies/{study}/questions/{id}/comments"),
            Some(json!({ "body": "Could this be shorter for carers?" })),
        )
        .await?;
    }
    Ok(format!("/studies/{study}/questionnaires/{questionnaire}"))
}

/// A browser-like client signed in through the sign-in page (with its CSRF token), with one keep-alive
/// connection and its own session cookie.
async fn signed_in_editor(server: &Server) -> anyhow::Result<reqwest::Client> {
    let client = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .pool_max_idle_per_host(1)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    shared::sign_in(&client, &server.url(""), EDITOR_EMAIL, EDITOR_PASSWORD).await?;
    Ok(client)
}

/// What one load run saw: latency of each 200 response, and every other outcome as an error.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn requests_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Every client sends requests back to back until `duration` has passed.
async fn load(clients: &[reqwest::Client], url: &str, duration: Duration) -> Tally {
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = clients
        .iter()
        .map(|client| {
            let client = client.clone();
            let url = url.to_string();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    match fetch(&client, &url).await {
                        Ok(()) => tally.latencies.push(sent.elapsed()),
                        Err(error) => {
                            tally.errors += 1;
                            tally.first_error.get_or_insert(error);
                        }
                    }
                }
                tally
            })
        })
        .collect();
    let mut total = Tally::default();
    for task in tasks {
        total.merge(task.await.expect("a load task panicked"));
    }
    total.elapsed = start.elapsed();
    total.latencies.sort_unstable();
    total
}

async fn fetch(client: &reqwest::Client, url: &str) -> Result<(), String> {
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{:#}", anyhow::Error::from(e)))?;
    let status = response.status();
    // The whole body is part of the response time, and reading it frees the connection for the next request.
    response
        .bytes()
        .await
        .map_err(|e| format!("{:#}", anyhow::Error::from(e)))?;
    if status == StatusCode::OK {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}

fn print_tables(reports: &[Report], seconds: u64) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{CONNECTIONS} concurrent keep-alive connections ({EDITORS} signed-in editors for the editor page), \
         {seconds} s per request after a {}s warm-up; {cores} CPU core(s) shared by the server and this \
         load driver.\n",
        WARM_UP.as_secs()
    );
    println!(
        "| backend | request | connections | requests/s | p50 ms | p99 ms | max ms | errors |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---|");
    for report in reports {
        for Scenario {
            name,
            connections,
            tally,
        } in &report.scenarios
        {
            let errors = match &tally.first_error {
                Some(first) => format!("{} (first: {first})", tally.errors),
                None => "0".into(),
            };
            println!(
                "| {} | {name} | {connections} | {:.0} | {:.2} | {:.2} | {:.2} | {errors} |",
                report.backend,
                tally.requests_per_second(),
                percentile_ms(&tally.latencies, 0.50),
                percentile_ms(&tally.latencies, 0.99),
                percentile_ms(&tally.latencies, 1.0),
            );
        }
    }
    println!("\n| backend | idle RSS MiB | RSS after load MiB |");
    println!("|---|---:|---:|");
    for report in reports {
        println!(
            "| {} | {:.1} | {:.1} |",
            report.backend,
            mib(report.idle_rss_kib),
            mib(report.loaded_rss_kib),
        );
    }
}

/// Established TCP connections accepted by the server, read from /proc/net/tcp (the server binds IPv4).
fn open_connections(port: u16) -> anyhow::Result<usize> {
    let table = std::fs::read_to_string("/proc/net/tcp").context("reading /proc/net/tcp")?;
    let local = format!(":{:04X}", port);
    Ok(table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // Field 1 is the local address, field 3 the state; 01 is ESTABLISHED.
            fields.len() > 3 && fields[1].ends_with(&local) && fields[3] == "01"
        })
        .count())
}
