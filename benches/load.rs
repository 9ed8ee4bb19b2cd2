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

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tempfile::TempDir;

#[path = "support/shared.rs"]
mod shared;
use shared::ScratchDatabase;

const CONNECTIONS: usize = 32;
const ENDPOINTS: [&str; 2] = ["/healthz", "/login"];
/// The co-design group editing together: each editor has a browser session of their own.
const EDITORS: usize = 16;
const EDITOR_SECTIONS: usize = 3;
const EDITOR_QUESTIONS: usize = 60;
const EDITOR_EMAIL: &str = "bench.editor@example.org";
const EDITOR_PASSWORD: &str = "a long passphrase for the load driver";
const DEFAULT_SECONDS: u64 = 10;
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const WARM_UP: Duration = Duration::from_secs(1);
// Long enough for the pool's background connections and start-up allocations to settle, so the idle
// figure is the steady state rather than a snapshot taken mid-start.
const SETTLE: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds = match std::env::var("VOICES_BENCH_SECONDS") {
        Ok(text) => text
            .parse()
            .with_context(|| format!("VOICES_BENCH_SECONDS={text:?} is not a whole number"))?,
        Err(_) => DEFAULT_SECONDS,
    };
    let duration = Duration::from_secs(seconds);

    let mut reports = vec![measure("sqlite", Database::Sqlite, duration).await?];
    let mut notes = Vec::new();
    let admin_url =
        std::env::var("VOICES_BENCH_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
    match ScratchDatabase::create(&admin_url) {
        // `scratch` outlives the server started inside `measure`, so the server is gone before the
        // database is dropped.
        Ok(scratch) => {
            let database = Database::Postgres(scratch.url.clone());
            reports.push(measure("postgres", database, duration).await?);
        }
        Err(error) if std::env::var("VOICES_BENCH_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
            return Err(error
                .context("VOICES_BENCH_REQUIRE_POSTGRES=1 and the PostgreSQL run cannot start"));
        }
        Err(error) => {
            let skipped = format!("PostgreSQL run skipped: {error:#}");
            eprintln!("{skipped}");
            notes.push(skipped);
        }
    }

    print_tables(&reports, seconds);
    for note in notes {
        println!("\n{note}");
    }
    Ok(())
}

enum Database {
    /// A file in the server's own temporary data directory.
    Sqlite,
    /// The URL of a database created for this run.
    Postgres(String),
}

/// A running `voices` process with its own data directory; killed when dropped, also on panic.
struct Server {
    child: Child,
    port: u16,
    database_url: String,
    // Removed after the process is killed: fields drop after `Drop::drop` has run.
    data_dir: TempDir,
}

impl Server {
    fn start(database: &Database) -> anyhow::Result<Self> {
        let data_dir =
            TempDir::with_prefix("voices-bench-").context("creating a data directory")?;
        // Ask the OS for a free port and release it for the server; another process could take it in
        // between, but then the server fails to bind and start-up reports it.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let database_url = match database {
            Database::Sqlite => format!("sqlite://{}", data_dir.path().join("voices.db").display()),
            Database::Postgres(url) => url.clone(),
        };
        let mut command = voices_command(data_dir.path(), port, &database_url);
        command
            .stdin(Stdio::null())
            // The server logs to stdout; send that to our stderr so stdout holds only the tables.
            .stdout(std::io::stderr())
            .stderr(Stdio::inherit());
        let child = command.spawn().context("starting the voices binary")?;
        Ok(Server {
            child,
            port,
            database_url,
            data_dir,
        })
    }

    /// Runs a `voices` command-line command against the running server's database and returns what it
    /// printed, as an operator would set the service up.
    fn cli(&self, args: &[&str], input: &str) -> anyhow::Result<String> {
        let mut child = voices_command(self.data_dir.path(), self.port, &self.database_url)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting voices {}", args[0]))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes())?;
        }
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!("voices {} failed ({})", args[0], output.status);
        }
        Ok(String::from_utf8(output.stdout)?)
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Fails if the process has exited: a crash must not pass for a run that merely had errors.
    fn ensure_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            Some(status) => bail!("the server exited ({status})"),
            None => Ok(()),
        }
    }

    async fn wait_until_healthy(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let url = self.url("/healthz");
        loop {
            self.ensure_running().context("during start-up")?;
            if let Ok(response) = client.get(&url).send().await {
                if response.status() == StatusCode::OK {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("GET /healthz did not answer 200 within {STARTUP_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Resident memory in KiB, as the kernel accounts it (VmRSS).
    fn rss_kib(&self) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no VmRSS line in {path}"))
    }

    /// Established TCP connections accepted by the server, read from /proc/net/tcp (the server binds IPv4).
    fn open_connections(&self) -> anyhow::Result<usize> {
        let table = std::fs::read_to_string("/proc/net/tcp").context("reading /proc/net/tcp")?;
        let local = format!(":{:04X}", self.port);
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
}

/// The `voices` binary with the settings the load driver gives it, for the server and for CLI commands.
fn voices_command(data_dir: &Path, port: u16, database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_voices"));
    command
        // Outside the repository, so a developer's config/local.toml cannot change what is measured.
        .current_dir(data_dir)
        .env("VOICES_BIND", format!("127.0.0.1:{port}"))
        .env("VOICES_DATA_DIR", data_dir)
        .env("VOICES_DATABASE_URL", database_url)
        // Logging every request would measure the terminal, not the service.
        .env("VOICES_LOG", "warn");
    // The bench's own settings would otherwise reach the server as unknown configuration keys.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VOICES_BENCH_") {
            command.env_remove(name);
        }
    }
    command
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
    let idle_rss_kib = server.rss_kib()?;

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
    let loaded_rss_kib = server.rss_kib()?;
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
    let connections = server.open_connections()?;
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
    server.cli(
        &[
            "create-admin",
            "--email",
            EDITOR_EMAIL,
            "--name",
            "Bench Editor",
        ],
        &format!("{EDITOR_PASSWORD}\n"),
    )?;
    let printed = server.cli(
        &[
            "create-api-token",
            "--email",
            EDITOR_EMAIL,
            "--name",
            "load driver",
        ],
        "",
    )?;
    let token = printed
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("vt_"))
        .context("create-api-token printed no token")?
        .to_string();
    let api = Api {
        client: reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?,
        base: server.url("/api/v1"),
        token,
    };

    let study = api
        .call(Method::POST, "/studies", json!({ "title": "Load test" }))
        .await?["study"]["id"]
        .as_i64()
        .context("no study id")?;
    let questionnaire = api
        .call(
            Method::POST,
            &format!("/studies/{study}/questionnaires"),
            json!({ "title": "Interview guide", "description": "For the load driver" }),
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
                json!({ "title": title, "introduction": "We start with you.", "reason": "A first draft" }),
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
            json!({ "body": "Is this the right order?" }),
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
                question.clone(),
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
                question.clone(),
            )
            .await?;
        }
        api.call(
            Method::POST,
            &format!("/studies/{study}/questions/{id}/comments"),
            json!({ "body": "Could this be shorter for carers?" }),
        )
        .await?;
    }
    Ok(format!("/studies/{study}/questionnaires/{questionnaire}"))
}

/// The JSON API with a personal access token.
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, method: Method, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("{method} /api/v1{path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }
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

    /// Nearest-rank percentile in milliseconds; `latencies` must be sorted.
    fn percentile_ms(&self, fraction: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = (fraction * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1].as_secs_f64() * 1000.0
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
                tally.percentile_ms(0.50),
                tally.percentile_ms(0.99),
                tally.percentile_ms(1.0),
            );
        }
    }
    println!("\n| backend | idle RSS MiB | RSS after load MiB |");
    println!("|---|---:|---:|");
    for report in reports {
        println!(
            "| {} | {:.1} | {:.1} |",
            report.backend,
            report.idle_rss_kib as f64 / 1024.0,
            report.loaded_rss_kib as f64 / 1024.0,
        );
    }
}
