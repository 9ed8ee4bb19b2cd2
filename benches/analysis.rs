//! Analysis driver: starts the real `voices` binary as a separate process, on SQLite and then on
//! PostgreSQL, fills a study with a realistic amount of analysed data and times the analysis pages,
//! their JSON and the exports as an analyst reads them.
//!
//! Set-up, as an operator and a study lead would do it: `voices create-admin` and `create-api-token`
//! on the command line, then through the JSON API a study, a questionnaire of 40 questions for staff,
//! service users and carers (30 open questions, 5 agreement and 5 choice questions, each tagged with
//! a COM-B sub-component) published after its sign-off, an analyst added to the study, the codebook
//! opened (which adds the six COM-B codes) and two codes added under each. Then, straight into the
//! database in one transaction (the API would take hours for this much): 2,000 participants of
//! mixed groups, services and levels, each with a participation, an online consent record and a
//! sent response answering all 40 questions (open answers of one to four sentences, some with
//! accented letters, Welsh, Polish, Urdu and emoji; a tenth of open questions skipped), and 20,000
//! study codings (no double-coding round) of one sentence each over the open answers, by the
//! analyst, spread over the codes, with valences. The server stays up meanwhile: SQLite's WAL lets
//! the one writer in, and nothing is cached that the new rows could contradict.
//!
//! Measured, each after two warm-up requests: `VOICES_BENCH_REQUESTS` sequential requests (default
//! 20; a quarter of that, at least 3, for the exports), then rounds of 4 at once. Pages as the
//! analyst signed in through the sign-in form; JSON and exports with the analyst's API token.
//!
//! The targets (SQLite, this 2-core machine): the framework matrix and the dashboard (the
//! closed-questions page) under 300 ms p50; the full project export under 5 s.
//!
//! With `VOICES_BENCH_SCENARIO=memory`, the server's memory under whole exports instead: for each
//! export (responses as wide and long CSV and as JSON, the REFI-QDA project, the coded passages) the
//! server is restarted on the seeded database, then 4 analysts download the whole file at once, and
//! the server's peak resident memory (VmHWM) is read. `VOICES_BENCH_BEFORE=<path to another voices
//! binary>` runs the same with that build first (e.g. one built from an earlier commit), and says
//! whether the two builds sent the same bytes; `VOICES_BENCH_SERVER=<path>` measures that binary as
//! the current build instead of the one built with the driver (so a driver built with
//! `--profile dev` can measure a release build).
//!
//! Run with `cargo bench --bench analysis`. Environment:
//! - `VOICES_BENCH_PARTICIPANTS` (default 2000), `VOICES_BENCH_CODINGS` (default 20000),
//!   `VOICES_BENCH_REQUESTS` (default 20);
//! - `VOICES_BENCH_SCENARIO` (`timing`, the default, or `memory`), `VOICES_BENCH_BEFORE`;
//! - `VOICES_BENCH_POSTGRES=0`: SQLite only;
//! - `VOICES_BENCH_POSTGRES_URL`, `VOICES_BENCH_REQUIRE_POSTGRES=1`: as for `benches/respond.rs`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Digest;

use voices::db::schema::{
    answers, codings, consent_records, participants, participations, questions, responses, studies,
    users,
};
use voices::db::{Db, DbConnection};

#[path = "support/shared.rs"]
mod shared;
use shared::{env_number, mib, percentile_ms, sign_in};
#[path = "support/server.rs"]
// Shared with the other drivers; this one runs its two databases itself.
#[allow(dead_code)]
mod server;
use server::{Api, Database, Server};

const LEAD_EMAIL: &str = "analysis.lead@example.org";
const ANALYST_EMAIL: &str = "analyst@example.org";
const PASSWORD: &str = "a long passphrase for the analysis driver";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
const WARM_UP: usize = 2;
const CONCURRENT: usize = 4;
const CONCURRENT_ROUNDS: usize = 3;
/// The targets on SQLite.
const TARGET_PAGE_P50_MS: f64 = 300.0;
const TARGET_EXPORT_MS: f64 = 5_000.0;
const COMB: [&str; 6] = ["C-PHY", "C-PSY", "O-PHY", "O-SOC", "M-REF", "M-AUT"];
const VALENCES: [&str; 4] = ["barrier", "enabler", "mixed", "neutral"];
const SERVICES: [&str; 6] = [
    "Adult mental health",
    "Community nursing",
    "Maternity",
    "Children’s services",
    "Learning disabilities",
    "Older people’s care",
];
/// What open answers are made of, a few sentences at a time.
const SENTENCES: [&str; 24] = [
    "Protected time in the rota made the difference.",
    "Before that I joined the meetings on my day off, and I stopped after the second one.",
    "The papers came the evening before, so I could not read them in time.",
    "The chair asked my opinion directly, which helped.",
    "Nobody explained what the acronyms meant — QI, PDSA, RCA — until I asked.",
    "I’m a carer for my mum; she’s 84 and the meetings clashed with her tea.",
    "We met in the café by ward 3, which felt less formal than the boardroom.",
    "Roedd y cyfarfod yn Gymraeg a Saesneg, a gwnaeth hynny wahaniaeth mawr i mi.",
    "My neighbour translated the leaflet: „Dziękuję, że pytacie o nasze zdanie”.",
    "The interpreter read it back in Urdu: آپ کی رائے ہمارے لیے اہم ہے۔",
    "Being paid for my time, not just expenses, said that my work counted 🙂.",
    "Training on involvement was a one-hour e-learning module, which is naïve.",
    "Managers say involvement matters but the targets say otherwise.",
    "The discharge leaflet was rewritten with two carers and it is clearer now.",
    "I felt talked over at the first meeting and nearly did not go back.",
    "A peer worker met me beforehand and explained who everyone was.",
    "Travel costs were refunded six weeks later, which I could not afford to wait for.",
    "Online meetings helped at first; later the camera-on rule put people off.",
    "Nobody told us what changed because of what we said — “you said, we did” never came.",
    "The project lead checked that the papers were sent a week ahead.",
    "Staff turnover meant a new facilitator every few months.",
    "Easy-read versions of the minutes made it possible for me to take part.",
    "I did not know involvement was part of my job until my appraisal.",
    "We co-wrote the questions, and the survey reached people it never had before.",
];
const LIKERT: [&str; 5] = [
    "Strongly disagree",
    "Disagree",
    "Neither agree nor disagree",
    "Agree",
    "Strongly agree",
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    voices::security::install_crypto_provider();
    let plan = Plan {
        participants: usize::try_from(env_number("VOICES_BENCH_PARTICIPANTS", 2_000)?)?,
        codings: usize::try_from(env_number("VOICES_BENCH_CODINGS", 20_000)?)?,
        requests: usize::try_from(env_number("VOICES_BENCH_REQUESTS", 20)?)?.max(1),
    };
    if std::env::var("VOICES_BENCH_SCENARIO").is_ok_and(|s| s == "memory") {
        return memory(&plan).await;
    }
    let mut reports = vec![measure("sqlite", Database::Sqlite, &plan).await?];
    let mut skipped = None;
    if env_number("VOICES_BENCH_POSTGRES", 1)? != 0 {
        match shared::postgres_scratch()? {
            // `scratch` outlives the server started inside `measure`.
            Ok(scratch) => {
                let database = Database::Postgres(scratch.url.clone());
                reports.push(measure("postgres", database, &plan).await?);
            }
            Err(why) => skipped = Some(why),
        }
    } else {
        skipped = Some("PostgreSQL run left out (VOICES_BENCH_POSTGRES=0)".into());
    }
    print_tables(&reports, &plan);
    if let Some(note) = skipped {
        println!("\n{note}");
    }
    Ok(())
}

struct Plan {
    participants: usize,
    codings: usize,
    requests: usize,
}

/// What the set-up made through the API.
struct Study {
    id: i64,
    questionnaire: i64,
    version: i64,
    analyst: i64,
    /// Every live code: the six COM-B codes and those under them.
    codes: Vec<i64>,
}

struct Seeded {
    seconds: f64,
    answers: usize,
    codings: usize,
    database_mib: Option<f64>,
}

struct Measured {
    name: String,
    bytes: usize,
    sequential: Vec<Duration>,
    concurrent: Vec<Duration>,
    target_ms: Option<(f64, &'static str)>,
}

struct Report {
    backend: &'static str,
    seeded: Seeded,
    results: Vec<Measured>,
    rss_kib: u64,
    peak_kib: u64,
    /// /proc/loadavg's 1-minute figure before and after the measurements: how busy the machine was.
    load: (String, String),
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

async fn measure(backend: &'static str, database: Database, plan: &Plan) -> anyhow::Result<Report> {
    eprintln!("[{backend}] starting the server");
    let mut server = Server::start(&database)?;
    server.wait_until_healthy().await?;
    let study = set_up(&server).await?;
    eprintln!(
        "[{backend}] seeding {} participants and {} codings",
        plan.participants, plan.codings
    );
    let seeded = seed(&server, &study, plan, backend).await?;
    eprintln!(
        "[{backend}] seeded in {:.1} s: {} answers, {} codings",
        seeded.seconds, seeded.answers, seeded.codings
    );
    server.ensure_running()?;

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    sign_in(&browser, &server.url(""), ANALYST_EMAIL, PASSWORD).await?;
    let api = server.api(ANALYST_EMAIL, "analysis driver", REQUEST_TIMEOUT)?;

    let load_before = load_average();
    let mut results = Vec::new();
    for endpoint in endpoints(&study) {
        eprintln!("[{backend}] {}", endpoint.name);
        let rounds = if endpoint.export {
            (plan.requests / 4).max(3)
        } else {
            plan.requests
        };
        let mut bytes = 0;
        for _ in 0..WARM_UP {
            bytes = fetch(&browser, &api, &server, &endpoint).await?.1;
        }
        let mut sequential = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            sequential.push(fetch(&browser, &api, &server, &endpoint).await?.0);
        }
        let mut concurrent = Vec::new();
        for _ in 0..CONCURRENT_ROUNDS {
            let all = (0..CONCURRENT).map(|_| fetch(&browser, &api, &server, &endpoint));
            for result in futures_util::future::join_all(all).await {
                concurrent.push(result?.0);
            }
        }
        sequential.sort();
        concurrent.sort();
        server.ensure_running()?;
        results.push(Measured {
            name: endpoint.name,
            bytes,
            sequential,
            concurrent,
            target_ms: endpoint.target_ms,
        });
    }
    Ok(Report {
        backend,
        seeded,
        results,
        rss_kib: server.status_kib("VmRSS")?,
        peak_kib: server.status_kib("VmHWM")?,
        load: (load_before, load_average()),
    })
}

struct Endpoint {
    name: String,
    /// Under `/api/v1` with the token, or a page with the signed-in session.
    api: bool,
    path: String,
    export: bool,
    target_ms: Option<(f64, &'static str)>,
}

fn page(name: &str, path: String, target: Option<f64>) -> Endpoint {
    Endpoint {
        name: name.into(),
        api: false,
        path,
        export: false,
        target_ms: target.map(|t| (t, "p50")),
    }
}

fn api(name: &str, path: String) -> Endpoint {
    Endpoint {
        name: name.into(),
        api: true,
        path,
        export: false,
        target_ms: None,
    }
}

/// The full REFI-QDA project export the issue sets a target for, and the JSON export of every
/// response beside it.
fn full_exports(study: &Study) -> [Endpoint; 2] {
    [
        Endpoint {
            name: "GET /api/v1/…/exports/project.qdpx (full project)".into(),
            api: true,
            path: format!("/studies/{}/exports/project.qdpx", study.id),
            export: true,
            target_ms: Some((TARGET_EXPORT_MS, "max")),
        },
        Endpoint {
            name: "GET /api/v1/…/exports/responses.json".into(),
            api: true,
            path: format!("/studies/{}/exports/responses.json", study.id),
            export: true,
            target_ms: None,
        },
    ]
}

fn endpoints(study: &Study) -> Vec<Endpoint> {
    let s = study.id;
    vec![
        page(
            "GET /studies/{id}/matrix (page)",
            format!("/studies/{s}/matrix"),
            Some(TARGET_PAGE_P50_MS),
        ),
        page(
            "GET /studies/{id}/matrix?rows=participant",
            format!("/studies/{s}/matrix?rows=participant"),
            Some(TARGET_PAGE_P50_MS),
        ),
        api("GET /api/v1/…/matrix", format!("/studies/{s}/matrix")),
        api(
            "GET /api/v1/…/matrix/tables",
            format!("/studies/{s}/matrix/tables"),
        ),
        page(
            "GET /studies/{id}/closed (dashboard)",
            format!("/studies/{s}/closed"),
            Some(TARGET_PAGE_P50_MS),
        ),
        page(
            "GET /studies/{id}/coding (overview)",
            format!("/studies/{s}/coding"),
            None,
        ),
        Endpoint {
            name: "GET /api/v1/…/exports/responses.csv".into(),
            api: true,
            path: format!("/studies/{s}/exports/responses.csv"),
            export: true,
            target_ms: None,
        },
    ]
    .into_iter()
    .chain(full_exports(study))
    .collect()
}

/// The memory scenario: on SQLite, then PostgreSQL (as the timing scenario chooses), the seeded
/// study's exports downloaded whole by 4 at once, each on a freshly started server.
async fn memory(plan: &Plan) -> anyhow::Result<()> {
    let before = std::env::var_os("VOICES_BENCH_BEFORE").map(std::path::PathBuf::from);
    let mut rows = measure_memory("sqlite", Database::Sqlite, plan, before.as_deref()).await?;
    let mut skipped = None;
    if env_number("VOICES_BENCH_POSTGRES", 1)? != 0 {
        match shared::postgres_scratch()? {
            Ok(scratch) => {
                let database = Database::Postgres(scratch.url.clone());
                rows.extend(measure_memory("postgres", database, plan, before.as_deref()).await?);
            }
            Err(why) => skipped = Some(why),
        }
    }
    println!(
        "\nWhole exports of {} participants × 40 answers with {} codings, {CONCURRENT} downloads at \
         once on a server started for each (its peak RSS is VmHWM from /proc/<pid>/status):\n",
        plan.participants, plan.codings
    );
    println!(
        "| backend | build | export | body | {CONCURRENT} at once: slowest s | RSS before MiB | peak RSS MiB | RSS after MiB | same bytes as before |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---|");
    for row in &rows {
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.1} | **{:.1}** | {:.1} | {} |",
            row.backend,
            row.build,
            row.export,
            size_text(row.bytes),
            row.seconds,
            mib(row.idle_kib),
            mib(row.peak_kib),
            mib(row.after_kib),
            row.same.unwrap_or("")
        );
    }
    if let Some(note) = skipped {
        println!("\n{note}");
    }
    Ok(())
}

struct MemoryRow {
    backend: &'static str,
    build: &'static str,
    export: &'static str,
    bytes: usize,
    seconds: f64,
    idle_kib: u64,
    peak_kib: u64,
    after_kib: u64,
    same: Option<&'static str>,
}

async fn measure_memory(
    backend: &'static str,
    database: Database,
    plan: &Plan,
    before: Option<&std::path::Path>,
) -> anyhow::Result<Vec<MemoryRow>> {
    eprintln!("[{backend}] starting the server");
    let mut server = Server::start(&database)?;
    server.wait_until_healthy().await?;
    let study = set_up(&server).await?;
    seed(&server, &study, plan, backend).await?;
    let api = server.api(ANALYST_EMAIL, "memory driver", REQUEST_TIMEOUT)?;
    let s = study.id;
    let exports = [
        (
            "responses.csv (wide)",
            format!("/studies/{s}/exports/responses.csv"),
        ),
        (
            "responses.csv (long)",
            format!("/studies/{s}/exports/responses.csv?layout=long"),
        ),
        (
            "responses.json",
            format!("/studies/{s}/exports/responses.json"),
        ),
        ("project.qdpx", format!("/studies/{s}/exports/project.qdpx")),
        (
            "coded-passages.csv",
            format!("/studies/{s}/exports/coded-passages.csv"),
        ),
    ];
    let current = std::env::var_os("VOICES_BENCH_SERVER")
        .map_or_else(|| server::BINARY.into(), std::path::PathBuf::from);
    let builds: Vec<(&'static str, &std::path::Path)> = before
        .map(|b| ("before", b))
        .into_iter()
        .chain([("after", current.as_path())])
        .collect();
    let mut digests: HashMap<&str, Vec<u8>> = HashMap::new();
    let mut rows = Vec::new();
    for (build, binary) in builds {
        for &(export, ref path) in &exports {
            eprintln!("[{backend}] {build}: {export}");
            server.restart(binary)?;
            server.wait_until_healthy().await?;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let idle_kib = server.status_kib("VmRSS")?;
            let started = Instant::now();
            let all = (0..CONCURRENT).map(|_| api.download(path));
            let mut bodies = Vec::new();
            for result in futures_util::future::join_all(all).await {
                let (status, body) = result?;
                if status != StatusCode::OK {
                    bail!("GET {path} answered {status}");
                }
                bodies.push(body);
            }
            let seconds = started.elapsed().as_secs_f64();
            let peak_kib = server.status_kib("VmHWM")?;
            server.ensure_running()?;
            // The project's zip is made at export time (its creation time is inside), so only its
            // size is comparable.
            let timed = export.ends_with(".qdpx");
            let digest = sha2::Sha256::digest(&bodies[0]).to_vec();
            if !timed
                && bodies
                    .iter()
                    .any(|b| sha2::Sha256::digest(b).to_vec() != digest)
            {
                bail!("the {CONCURRENT} downloads of {path} differ");
            }
            let same = match digests.get(export) {
                _ if timed => None,
                Some(earlier) if *earlier == digest => Some("yes"),
                Some(_) => Some("**no**"),
                None => None,
            };
            digests.insert(export, digest);
            rows.push(MemoryRow {
                backend,
                build,
                export,
                bytes: bodies[0].len(),
                seconds,
                idle_kib,
                peak_kib,
                after_kib: server.status_kib("VmRSS")?,
                same,
            });
        }
    }
    Ok(rows)
}

/// One request, read to the end: its time and the body's size. Anything but 200 is an error.
async fn fetch(
    browser: &reqwest::Client,
    api: &Api,
    server: &Server,
    endpoint: &Endpoint,
) -> anyhow::Result<(Duration, usize)> {
    let started = Instant::now();
    let (status, body) = if endpoint.api {
        api.request(Method::GET, &endpoint.path, None).await?
    } else {
        let response = browser
            .get(server.url(&endpoint.path))
            .send()
            .await
            .with_context(|| format!("GET {}", endpoint.path))?;
        (response.status(), response.text().await?)
    };
    let elapsed = started.elapsed();
    if status != StatusCode::OK {
        let excerpt: String = body.chars().take(2000).collect();
        bail!("GET {} answered {status}: {excerpt}", endpoint.path);
    }
    Ok((elapsed, body.len()))
}

/// The study, questionnaire, analyst and codebook, through the CLI and the API.
async fn set_up(server: &Server) -> anyhow::Result<Study> {
    let lead = server.admin(LEAD_EMAIL, "Analysis Lead", PASSWORD, REQUEST_TIMEOUT)?;
    let id = lead
        .call(
            Method::POST,
            "/studies",
            Some(json!({ "title": "What helps people take part in improvement work", "summary": "" })),
        )
        .await?["study"]["id"]
        .as_i64()
        .context("no study id")?;
    let questionnaire = lead
        .call(
            Method::POST,
            &format!("/studies/{id}/questionnaires/import"),
            Some(questionnaire_file()),
        )
        .await?["questionnaire"]["id"]
        .as_i64()
        .context("no questionnaire id")?;
    let base = format!("/studies/{id}/questionnaires/{questionnaire}");
    let members = lead
        .call(Method::GET, &format!("/studies/{id}/members"), None)
        .await?;
    let lead_member = members
        .as_array()
        .and_then(|all| all.iter().find(|m| m["email"] == LEAD_EMAIL))
        .and_then(|m| m["id"].as_i64())
        .context("the lead is not among the study's members")?;
    for (method, path, body) in [
        (
            Method::PUT,
            format!("{base}/sign-off-rule"),
            json!({ "member_ids": [lead_member], "needs_advisor": false, "needs_staff": false }),
        ),
        (
            Method::POST,
            format!("{base}/status"),
            json!({ "status": "pilot" }),
        ),
        (Method::POST, format!("{base}/sign-offs"), json!({})),
    ] {
        lead.call(method, &path, Some(body)).await?;
    }
    let version = lead
        .call(Method::POST, &format!("{base}/publish"), Some(json!({})))
        .await?["id"]
        .as_i64()
        .context("no version id")?;
    let added = lead
        .call(
            Method::POST,
            &format!("/studies/{id}/members"),
            Some(json!({
                "email": ANALYST_EMAIL,
                "display_name": "Analyst",
                "analyst": true,
                "perspective": "staff",
            })),
        )
        .await?;
    // Members join by accepting their invitation; the analyst does, as they would on their page.
    let invitation = added["id"]
        .as_i64()
        .with_context(|| format!("no invitation for the analyst: {added}"))?;
    let db = Db::connect(server.database_url(), 1)?;
    let analyst = voices::accounts::actions::user_by_email(&db, ANALYST_EMAIL)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .context("the invitation made no account for the analyst")?
        .id;
    voices::studies::invitations::actions::accept(
        &db,
        &voices::audit::Origin::command_line(),
        analyst,
        invitation,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    // Opening the codebook adds the COM-B codes; two codes go under each.
    let codebook = lead
        .call(Method::GET, &format!("/studies/{id}/codebook"), None)
        .await?;
    let top: Vec<(i64, String)> = codebook["codes"]
        .as_array()
        .context("no codes in the codebook")?
        .iter()
        .filter_map(|c| Some((c["id"].as_i64()?, c["name"].as_str()?.to_string())))
        .collect();
    if top.is_empty() {
        bail!("the codebook has no COM-B codes: {codebook}");
    }
    let mut codes: Vec<i64> = top.iter().map(|(id, _)| *id).collect();
    for (parent, name) in &top {
        for (aspect, colour) in [
            ("time and money", "blue"),
            ("how people are treated", "teal"),
        ] {
            let child = lead
                .call(
                    Method::POST,
                    &format!("/studies/{id}/codebook/codes"),
                    Some(json!({
                        "name": format!("{name}: {aspect}"),
                        "parent_id": parent,
                        "definition": format!("Passages about {aspect} under {name}."),
                        "colour": colour,
                    })),
                )
                .await?;
            codes.push(child["id"].as_i64().context("no code id")?);
        }
    }
    Ok(Study {
        id,
        questionnaire,
        version,
        analyst,
        codes,
    })
}

/// Five sections of eight questions for everyone: six open, one agreement, one choice; each tagged
/// with a COM-B sub-component.
fn questionnaire_file() -> Value {
    let topics = ["meetings", "training", "payment", "feedback", "leadership"];
    let everyone = ["staff", "service_users", "carers"];
    let sections: Vec<Value> = topics
        .iter()
        .enumerate()
        .map(|(s, topic)| {
            let mut questions: Vec<Value> = (0..6)
                .map(|n| {
                    json!({
                        "key": format!("open_{s}_{n}"),
                        "kind": "long_text",
                        "text": format!("Tell us about {topic} ({}): what helped, and what got in the way?", n + 1),
                        "audiences": everyone,
                        "tags": [COMB[(s * 6 + n) % COMB.len()]],
                        "probes": ["Can you give an example?"]
                    })
                })
                .collect();
            questions.push(json!({
                "key": format!("agree_{s}"),
                "kind": "likert",
                "text": format!("My views on {topic} were listened to."),
                "audiences": everyone,
                "options": LIKERT,
                "likert_not_applicable": true,
                "tags": [COMB[s % COMB.len()]]
            }));
            questions.push(json!({
                "key": format!("choice_{s}"),
                "kind": "single_choice",
                "text": format!("How often did {topic} come up?"),
                "audiences": everyone,
                "options": ["Never", "Once or twice", "Often", "Every time"],
                "tags": [COMB[(s + 3) % COMB.len()]]
            }));
            json!({
                "title": format!("About {topic}"),
                "introduction": format!("Questions about {topic}."),
                "questions": questions
            })
        })
        .collect();
    json!({
        "format": "voices.questionnaire",
        "format_version": 1,
        "title": "Taking part in improvement work",
        "description": "What helps staff, service users and carers take part.",
        "sections": sections,
        "information": {
            "summary": "We want to learn what helps and what gets in the way.",
            "full_text": "## About the study\n\nA questionnaire of about 20 minutes.",
            "data_use": "Your name is kept apart from what you say.",
            "withdrawal_days": 14,
            "withdrawal_after": "After 14 days, what was collected is kept in anonymised form.",
            "retention": "Kept for five years, then deleted.",
            "contact": "The study team: involvement@example.org",
            "signposting": "If you feel upset, call the trust's crisis line or contact the study team.",
            "consent_statements": [
                { "text": "I have read the information about this study.", "required": true },
                { "text": "I agree to take part.", "required": true }
            ]
        }
    })
}

/// Runs the body on the concrete connection (batch inserts are not offered through the enum).
macro_rules! on_each {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            DbConnection::Sqlite($c) => $body,
            DbConnection::Postgres($c) => $body,
        }
    };
}

/// An open answer's text and where each of its sentences starts and ends (in characters).
type Open = (String, Vec<(i32, i32)>);

/// An open answer: one to four sentences.
fn open_answer(rng: &mut StdRng) -> Open {
    let mut text = String::new();
    let mut spans = Vec::new();
    for _ in 0..rng.gen_range(1..=4) {
        if !text.is_empty() {
            text.push(' ');
        }
        let start = text.chars().count() as i32;
        text.push_str(SENTENCES[rng.gen_range(0..SENTENCES.len())]);
        spans.push((start, text.chars().count() as i32));
    }
    (text, spans)
}

/// The bulk rows, straight into the server's database in one transaction.
async fn seed(
    server: &Server,
    study: &Study,
    plan: &Plan,
    backend: &str,
) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let db = Db::connect(server.database_url(), 1)?;
    let password_hash = voices::accounts::passwords::hash(PASSWORD)?;
    let (study_id, questionnaire, version, analyst) =
        (study.id, study.questionnaire, study.version, study.analyst);
    let codes = study.codes.clone();
    let (people, wanted_codings) = (plan.participants, plan.codings);
    let (answers_made, codings_made) = db
        .write(move |conn| -> anyhow::Result<(usize, usize)> {
            let mut rng = StdRng::seed_from_u64(2026);
            let at = voices::db::now();
            // The analyst signs in with a password, as if the invitation had been taken up.
            diesel::update(users::table.find(analyst))
                .set((
                    users::password_hash.eq(Some(password_hash)),
                    users::is_active.eq(true),
                ))
                .execute(conn)?;
            let asked: Vec<(i64, String, String)> = questions::table
                .filter(questions::questionnaire_id.eq(questionnaire))
                .order(questions::id)
                .select((questions::id, questions::kind, questions::options))
                .load(conn)?;

            let people_rows: Vec<_> = (0..people)
                .map(|n| {
                    let group = match rng.gen_range(0..100) {
                        0..60 => "staff",
                        60..85 => "service_user",
                        _ => "carer",
                    };
                    (
                        participants::study_id.eq(study_id),
                        participants::code.eq(format!("P-{:04}", n + 1)),
                        participants::participant_group.eq(group),
                        participants::service_area.eq(SERVICES[rng.gen_range(0..SERVICES.len())]),
                        participants::system_level.eq(["micro", "meso", "macro"][rng.gen_range(0..3)]),
                        participants::source.eq("import"),
                        participants::created_at.eq(at),
                    )
                })
                .collect();
            for chunk in people_rows.chunks(1000) {
                on_each!(conn, |c| diesel::insert_into(participants::table)
                    .values(chunk)
                    .execute(c))?;
            }
            diesel::update(studies::table.find(study_id))
                .set(studies::next_participant_number.eq(people as i32 + 1))
                .execute(conn)?;
            type Person = (i64, String, String, String);
            let persons: Vec<Person> = participants::table
                .filter(participants::study_id.eq(study_id))
                .order(participants::id)
                .select((
                    participants::id,
                    participants::participant_group,
                    participants::service_area,
                    participants::system_level,
                ))
                .load(conn)?;

            let participation_rows: Vec<_> = persons
                .iter()
                .map(|(id, ..)| {
                    (
                        participations::participant_id.eq(*id),
                        participations::questionnaire_id.eq(questionnaire),
                        participations::version_id.eq(version),
                        participations::created_at.eq(at),
                        participations::opened_at.eq(Some(at)),
                        participations::consented_at.eq(Some(at)),
                        participations::started_at.eq(Some(at)),
                        participations::completed_at.eq(Some(at)),
                    )
                })
                .collect();
            for chunk in participation_rows.chunks(1000) {
                on_each!(conn, |c| diesel::insert_into(participations::table)
                    .values(chunk)
                    .execute(c))?;
            }
            let taking_part: HashMap<i64, i64> = participations::table
                .filter(participations::questionnaire_id.eq(questionnaire))
                .select((participations::participant_id, participations::id))
                .load::<(i64, i64)>(conn)?
                .into_iter()
                .collect();

            let statements = json!([
                { "text": "I have read the information about this study.", "required": true, "agreed": true },
                { "text": "I agree to take part.", "required": true, "agreed": true }
            ])
            .to_string();
            let consent_rows: Vec<_> = persons
                .iter()
                .map(|(id, ..)| {
                    (
                        consent_records::participation_id.eq(taking_part[id]),
                        consent_records::revision.eq(1),
                        consent_records::version_id.eq(version),
                        consent_records::information_hash.eq("bench"),
                        consent_records::statements.eq(statements.clone()),
                        consent_records::decision.eq("consented"),
                        consent_records::method.eq("online"),
                        consent_records::recorded_at.eq(at),
                    )
                })
                .collect();
            for chunk in consent_rows.chunks(1000) {
                on_each!(conn, |c| diesel::insert_into(consent_records::table)
                    .values(chunk)
                    .execute(c))?;
            }

            let response_rows: Vec<_> = persons
                .iter()
                .map(|(id, group, service, level)| {
                    (
                        responses::participation_id.eq(Some(taking_part[id])),
                        responses::participant_id.eq(Some(*id)),
                        responses::study_id.eq(study_id),
                        responses::questionnaire_id.eq(questionnaire),
                        responses::version_id.eq(version),
                        responses::mode.eq("online"),
                        responses::audience.eq(group.clone()),
                        responses::participant_group.eq(group.clone()),
                        responses::service_area.eq(service.clone()),
                        responses::system_level.eq(level.clone()),
                        responses::page.eq(5),
                        responses::started_at.eq(at),
                        responses::updated_at.eq(at),
                        responses::submitted_at.eq(Some(at)),
                    )
                })
                .collect();
            for chunk in response_rows.chunks(1000) {
                on_each!(conn, |c| diesel::insert_into(responses::table)
                    .values(chunk)
                    .execute(c))?;
            }
            let response_ids: Vec<i64> = responses::table
                .filter(responses::study_id.eq(study_id))
                .order(responses::id)
                .select(responses::id)
                .load(conn)?;

            // Every question answered; the open ones' sentence spans kept for the codings.
            let mut spans: HashMap<(i64, i64), Open> = HashMap::new();
            let mut answer_rows = Vec::with_capacity(response_ids.len() * asked.len());
            for &response in &response_ids {
                for (question, kind, options) in &asked {
                    let (value, skipped) = if kind == "long_text" {
                        if rng.gen_range(0..10) == 0 {
                            (String::new(), true)
                        } else {
                            let (text, sentences) = open_answer(&mut rng);
                            spans.insert((response, *question), (text.clone(), sentences));
                            (text, false)
                        }
                    } else {
                        let mut choices: Vec<String> = serde_json::from_str(options)?;
                        if kind == "likert" {
                            choices.push("Not applicable".into());
                        }
                        // Leaning towards agreement, as these surveys tend to.
                        let pick = (rng.gen_range(0..choices.len()) + rng.gen_range(0..choices.len()))
                            .div_ceil(2)
                            .min(choices.len() - 1);
                        (choices[pick].clone(), false)
                    };
                    answer_rows.push((
                        answers::response_id.eq(response),
                        answers::question_id.eq(*question),
                        answers::value.eq(value),
                        answers::skipped.eq(skipped),
                        answers::updated_at.eq(at),
                    ));
                }
            }
            let answers_made = answer_rows.len();
            for chunk in answer_rows.chunks(1000) {
                on_each!(conn, |c| diesel::insert_into(answers::table)
                    .values(chunk)
                    .execute(c))?;
            }
            drop(answer_rows);
            let mut open: Vec<(i64, Open)> = answers::table
                .inner_join(responses::table)
                .filter(responses::study_id.eq(study_id))
                .select((answers::id, answers::response_id, answers::question_id))
                .load::<(i64, i64, i64)>(conn)?
                .into_iter()
                .filter_map(|(id, response, question)| {
                    spans
                        .remove(&(response, question))
                        .map(|o| (id, o))
                })
                .collect();
            open.sort_by_key(|(id, ..)| *id);
            if open.is_empty() {
                bail!("no open answers to code");
            }

            // Two passages of a coded answer, each under its own code; answers spread over the study.
            let mut coding_rows = Vec::with_capacity(wanted_codings);
            for k in 0..wanted_codings {
                let (answer, (text, sentences)) = &open[(k / 2 * 7919) % open.len()];
                let (start, end) = sentences[rng.gen_range(0..sentences.len())];
                let quote: String = text
                    .chars()
                    .skip(start as usize)
                    .take((end - start) as usize)
                    .collect();
                let code = codes[(k / 2 + k % 2 * (codes.len() / 2 + 1)) % codes.len()];
                coding_rows.push((
                    codings::study_id.eq(study_id),
                    codings::answer_id.eq(*answer),
                    codings::field.eq("answer"),
                    codings::start_char.eq(start),
                    codings::end_char.eq(end),
                    codings::quote.eq(quote),
                    codings::code_id.eq(code),
                    codings::valence.eq(VALENCES[rng.gen_range(0..VALENCES.len())]),
                    codings::coder_id.eq(analyst),
                    codings::created_at.eq(at),
                ));
            }
            for chunk in coding_rows.chunks(1000) {
                on_each!(conn, |c| diesel::insert_into(codings::table)
                    .values(chunk)
                    .execute(c))?;
            }
            Ok((answers_made, coding_rows.len()))
        })
        .await?;
    let database_mib = match backend {
        "sqlite" => {
            let path = server
                .database_url()
                .trim_start_matches("sqlite://")
                .to_string();
            let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            Some((size(&path) + size(&format!("{path}-wal"))) as f64 / 1024.0 / 1024.0)
        }
        _ => None,
    };
    Ok(Seeded {
        seconds: started.elapsed().as_secs_f64(),
        answers: answers_made,
        codings: codings_made,
        database_mib,
    })
}

fn print_tables(reports: &[Report], plan: &Plan) {
    println!(
        "\nAnalysis of {} participants × 40 answers with {} codings: {} sequential requests after {WARM_UP} \
         warm-up (exports: {}), then {CONCURRENT_ROUNDS} rounds of {CONCURRENT} at once.",
        plan.participants,
        plan.codings,
        plan.requests,
        (plan.requests / 4).max(3)
    );
    for report in reports {
        let s = &report.seeded;
        println!(
            "\n{}: seeded {} answers and {} codings in {:.1} s{}; server RSS after {:.1} MiB (peak {:.1} MiB); \
             load average {} before, {} after\n",
            report.backend,
            s.answers,
            s.codings,
            s.seconds,
            s.database_mib
                .map_or_else(String::new, |m| format!(", database {m:.0} MiB")),
            mib(report.rss_kib),
            mib(report.peak_kib),
            report.load.0,
            report.load.1,
        );
        println!(
            "| request | body | p50 ms | p95 ms | max ms | 4 at once: p50 ms | max ms | target |"
        );
        println!("|---|---:|---:|---:|---:|---:|---:|---|");
        for m in &report.results {
            let p50 = percentile_ms(&m.sequential, 0.5);
            let max = percentile_ms(&m.sequential, 1.0);
            let target = match m.target_ms {
                Some((t, "p50")) => format!(
                    "p50 < {t:.0} ms: {}",
                    if p50 < t { "met" } else { "MISSED" }
                ),
                Some((t, _)) => format!(
                    "< {:.0} s: {}",
                    t / 1000.0,
                    if max < t { "met" } else { "MISSED" }
                ),
                None => String::new(),
            };
            println!(
                "| {} | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} | {} |",
                m.name,
                size_text(m.bytes),
                p50,
                percentile_ms(&m.sequential, 0.95),
                max,
                percentile_ms(&m.concurrent, 0.5),
                percentile_ms(&m.concurrent, 1.0),
                target
            );
        }
    }
}

fn size_text(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}
