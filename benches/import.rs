//! Import benchmark: a generated CSV file of 10,000 participants, first read by the pure parser alone,
//! then imported over HTTP as a lead does it (upload and check, the preview page, confirm), on SQLite
//! in a temporary directory and, when `VOICES_TEST_DATABASE_URL` is set, on PostgreSQL in a scratch
//! database dropped afterwards. The app runs in this process, on its default settings. Prints Markdown
//! tables; the target is under 2 s from upload to imported.
//!
//! Run with `cargo bench --bench import`. Environment:
//! - `VOICES_BENCH_ROWS`: rows in the file (default 10000);
//! - `VOICES_BENCH_RUNS`: imports per backend, each into a fresh study (default 5);
//! - `VOICES_TEST_DATABASE_URL`: a PostgreSQL server URL allowed to create databases.

use std::collections::HashSet;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::StatusCode;
use tempfile::TempDir;
use voices::app::{build_state, run};
use voices::audit::Origin;
use voices::config::Settings;
use voices::distribution::participants::import;
use voices::identity::Role;

#[path = "support/shared.rs"]
// Shared with the load drivers, whose PostgreSQL settings and percentiles this bench does not use.
#[allow(dead_code)]
mod shared;
use shared::{csrf_token, ScratchDatabase};

const LEAD_EMAIL: &str = "bench.lead@example.org";
const LEAD_PASSWORD: &str = "a long passphrase for the import bench";
/// A new study's service areas (the migration's default list).
const AREAS: [&str; 6] = [
    "Community",
    "Inpatient rehabilitation",
    "Sexual health",
    "Mental health",
    "Health and justice",
    "Addictions",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    voices::security::install_crypto_provider();
    let rows = usize::try_from(shared::env_number("VOICES_BENCH_ROWS", 10_000)?)?;
    let runs = usize::try_from(shared::env_number("VOICES_BENCH_RUNS", 5)?)?.max(1);
    let file = generate(rows);
    eprintln!("{rows} rows, {} bytes", file.len());

    let parse = measure_parse(&file, rows, runs)?;
    let mut reports = vec![measure_http("sqlite", None, &file, rows, runs).await?];
    let postgres = std::env::var("VOICES_TEST_DATABASE_URL").ok();
    let note = match &postgres {
        Some(server) => {
            // Outlives the app started inside `measure_http`, which holds connections to it.
            let scratch = ScratchDatabase::create(server)?;
            reports.push(
                measure_http("postgres", Some(scratch.url.clone()), &file, rows, runs).await?,
            );
            None
        }
        None => Some("PostgreSQL run skipped: VOICES_TEST_DATABASE_URL is not set."),
    };

    println!("| file | rows | bytes | parse and check, median ms | min ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| generated CSV | {rows} | {} | {:.1} | {:.1} | {:.1} |",
        file.len(),
        ms(median(&parse)),
        ms(parse[0]),
        ms(parse[parse.len() - 1])
    );
    println!();
    println!("| backend | rows | upload and check ms | preview page ms | confirm ms | total, median ms | total, max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for report in &reports {
        let total: Vec<Duration> = report.runs.iter().map(|r| r.total()).collect();
        let mut total_sorted = total.clone();
        total_sorted.sort();
        let part = |pick: fn(&Run) -> Duration| {
            let mut values: Vec<Duration> = report.runs.iter().map(pick).collect();
            values.sort();
            ms(median(&values))
        };
        println!(
            "| {} | {rows} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} |",
            report.backend,
            part(|r| r.upload),
            part(|r| r.preview),
            part(|r| r.confirm),
            ms(median(&total_sorted)),
            ms(total_sorted[total_sorted.len() - 1]),
        );
    }
    if let Some(note) = note {
        println!("\n{note}");
    }
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The middle of sorted durations.
fn median(sorted: &[Duration]) -> Duration {
    sorted[sorted.len() / 2]
}

/// A file as a trust's spreadsheet would give it: every column, quoted names with commas, several
/// tags and needs in a cell, the labels people type rather than stored values.
fn generate(rows: usize) -> Vec<u8> {
    let groups = ["Staff", "Service user", "Carer"];
    let levels = ["micro", "meso", "macro", ""];
    let tags = ["wave 1|pilot", "wave 2", "", "pilot"];
    let needs = [
        "",
        "",
        "easy read",
        "large print|phone interview",
        "",
        "interpreter or BSL",
    ];
    let modes = [
        "online questionnaire",
        "phone",
        "in person",
        "",
        "video call",
    ];
    let mut file = String::from(
        "name,email,phone,group,service_area,system_level,tags,communication_needs,preferred_mode\r\n",
    );
    for i in 1..=rows {
        let name = if i % 10 == 0 {
            format!("\"Smith, Jo {i}\"")
        } else {
            format!("Participant {i}")
        };
        file.push_str(&format!(
            "{name},person{i}@example.org,07700 9{:05},{},{},{},{},\"{}\",{}\r\n",
            i % 100_000,
            groups[i % groups.len()],
            AREAS[i % AREAS.len()],
            levels[i % levels.len()],
            tags[i % tags.len()],
            needs[i % needs.len()],
            modes[i % modes.len()],
        ));
    }
    file.into_bytes()
}

/// The pure reader: decoding, CSV parsing and every row's checks, no storage. Sorted durations.
fn measure_parse(file: &[u8], rows: usize, runs: usize) -> anyhow::Result<Vec<Duration>> {
    let areas: Vec<String> = AREAS.iter().map(|a| a.to_string()).collect();
    let on_roster = HashSet::new();
    let mut times = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let preview = import::read(file, &areas, &on_roster).map_err(anyhow::Error::msg)?;
        times.push(started.elapsed());
        if preview.summary.accepted != rows {
            bail!(
                "the parser accepted {} of {rows} rows: {:?}",
                preview.summary.accepted,
                preview.summary.problems.first()
            );
        }
    }
    times.sort();
    Ok(times)
}

struct Report {
    backend: &'static str,
    runs: Vec<Run>,
}

/// One import, step by step, as a browser makes the requests.
struct Run {
    /// POST the form with the file: the file is read and checked, the accepted rows kept; 303.
    upload: Duration,
    /// GET the preview page.
    preview: Duration,
    /// POST the confirmation: every row inserted in one transaction; 303.
    confirm: Duration,
}

impl Run {
    fn total(&self) -> Duration {
        self.upload + self.preview + self.confirm
    }
}

async fn measure_http(
    backend: &'static str,
    database_url: Option<String>,
    file: &[u8],
    rows: usize,
    runs: usize,
) -> anyhow::Result<Report> {
    eprintln!("{backend}: starting the app");
    let data_dir = TempDir::with_prefix("voices-bench-").context("creating a data directory")?;
    let mut settings = Settings::defaults();
    settings.data_dir = data_dir.path().to_path_buf();
    settings.database_url = database_url
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.path().join("voices.db").display()));
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    settings.base_url = base.clone();
    let state = tokio::task::spawn_blocking(move || build_state(settings)).await??;
    voices::accounts::actions::create_user(
        &state.db,
        &Origin::command_line(),
        LEAD_EMAIL,
        "Bench Lead",
        Role::Member,
        LEAD_PASSWORD.into(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the lead: {e}"))?;
    let server = run(listener, state)?;
    let handle = server.handle();
    tokio::spawn(server);

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()?;
    shared::sign_in(&client, &base, LEAD_EMAIL, LEAD_PASSWORD).await?;
    let mut measured = Vec::new();
    for number in 1..=runs {
        let page = client
            .get(format!("{base}/studies/new"))
            .send()
            .await?
            .text()
            .await?;
        let csrf = csrf_token(&page)?;
        let created = client
            .post(format!("{base}/studies"))
            .form(&[
                ("title", format!("Import {number}")),
                ("summary", String::new()),
                ("csrf_token", csrf.clone()),
            ])
            .send()
            .await?;
        let study = redirect(&created, StatusCode::SEE_OTHER)?;

        let started = Instant::now();
        let form = reqwest::multipart::Form::new()
            .text("csrf_token", csrf.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(file.to_vec())
                    .file_name("participants.csv")
                    .mime_str("text/csv")?,
            )
            .text("text", "");
        let uploaded = client
            .post(format!("{base}{study}/participants/import"))
            .multipart(form)
            .send()
            .await?;
        let preview_url = redirect(&uploaded, StatusCode::SEE_OTHER)?;
        let upload = started.elapsed();

        let started = Instant::now();
        let preview = client.get(format!("{base}{preview_url}")).send().await?;
        if preview.status() != StatusCode::OK {
            bail!("the preview answered {}", preview.status());
        }
        let page = preview.text().await?;
        if !page.contains(&format!("Import {rows} participants")) {
            bail!("the preview does not offer to import {rows} participants");
        }
        let preview = started.elapsed();

        let started = Instant::now();
        let confirmed = client
            .post(format!("{base}{preview_url}"))
            .form(&[("csrf_token", &csrf)])
            .send()
            .await?;
        redirect(&confirmed, StatusCode::SEE_OTHER)?;
        let confirm = started.elapsed();

        let roster: serde_json::Value = client
            .get(format!("{base}/api/v1{study}/participants"))
            .send()
            .await?
            .json()
            .await?;
        if roster["total"].as_u64() != Some(rows as u64) {
            bail!(
                "the roster has {} participants, not {rows}",
                roster["total"]
            );
        }
        let run = Run {
            upload,
            preview,
            confirm,
        };
        eprintln!(
            "{backend} run {number}: {:.0} ms (upload {:.0}, preview {:.0}, confirm {:.0})",
            ms(run.total()),
            ms(run.upload),
            ms(run.preview),
            ms(run.confirm)
        );
        measured.push(run);
    }
    handle.stop(true).await;
    Ok(Report {
        backend,
        runs: measured,
    })
}

/// The path a redirect points to, after checking the status.
fn redirect(response: &reqwest::Response, expected: StatusCode) -> anyhow::Result<String> {
    if response.status() != expected {
        bail!("{} answered {}", response.url(), response.status());
    }
    Ok(response.headers()["location"].to_str()?.to_string())
}
