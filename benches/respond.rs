//! Response load driver: starts the real `voices` binary as a separate process, on SQLite and on
//! PostgreSQL, publishes a three-page questionnaire with an open link through the JSON API, has
//! participants join through that link, and then measures what participants do with 32 concurrent
//! keep-alive connections, each one participant's browser:
//!
//! - the first page (`GET /p/{t}`, the information sheet) for people who have not consented yet;
//! - whole responses: information, consent, three pages of answers, review, submit, a fresh
//!   participant each time;
//! - the question page: consented participants reloading page 1 (`GET /p/{t}/page/1`);
//! - page saves: consented participants saving page 1 over and over ("Save and come back later").
//!
//! SQLite is measured twice: with the default `synchronous = FULL` and with `NORMAL`, to show what
//! durability through a power cut costs. Each SQLite run also measures the question page and page
//! saves on a bare baseline server (support/baseline.rs: the same crates doing the least the two
//! requests can do, with the same `synchronous`), in turn with Voices over two rounds, to give Voices's
//! ceiling on this machine. PostgreSQL is measured with one `voices` process and with two on the same
//! database sharing the connections, as two instances behind a load balancer would.
//!
//! It prints throughput, latency per request, the server's CPU seconds per completed item and its peak
//! resident memory as Markdown tables, Voices against the baseline, then the targets beside the
//! figures.
//!
//! Run with `cargo bench --bench respond`. Environment:
//! - `VOICES_BENCH_SECONDS`: measured seconds per phase (default 10);
//! - `VOICES_BENCH_PARTICIPANTS`: participants who join before the measurements for the whole-response
//!   phase (default 1,500 per second of it, warm-up included);
//! - `VOICES_BENCH_SCENARIOS`: the runs to make, comma-separated, of `sqlite` (synchronous FULL),
//!   `sqlite-normal`, `baseline` (the baseline beside each of those two), `postgres` and `postgres-2`
//!   (two instances); default all of them;
//! - `VOICES_BENCH_POSTGRES_URL`: a PostgreSQL server URL allowed to create databases
//!   (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! - `VOICES_BENCH_REQUIRE_POSTGRES=1`: fail instead of skipping the PostgreSQL run when it cannot be set up.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

#[path = "support/shared.rs"]
// Shared with the editor benches, whose browser sign-in this driver does not need.
#[allow(dead_code)]
mod shared;
use shared::{csrf_token, env_number, mib, percentile_ms};
#[path = "support/server.rs"]
#[allow(dead_code)]
mod server;
use server::{Database, Server};
#[path = "support/participants.rs"]
// Shared with the interview driver, whose steady background of responses this driver does not run.
#[allow(dead_code)]
mod participants;
use participants::{consented, join, page, publish, window, Browser, Job, Participant, Tally};
use participants::{PAGES, STEPS};
#[path = "support/usage.rs"]
// `Usage::now` reads one `voices` server; this driver reads several processes at once with `Usage::of`.
#[allow(dead_code)]
mod usage;
use usage::{share_of_machine, Usage};
#[path = "support/baseline.rs"]
mod baseline;
use baseline::Baseline;

const CONNECTIONS: usize = 32;
const DEFAULT_SECONDS: u64 = 10;
// Twice the target rate, so a server that meets it does not run out of fresh participants mid-phase.
const PARTICIPANTS_PER_SECOND: u64 = 1_500;
const WARM_UP: Duration = Duration::from_secs(1);
// Against the baseline each phase is measured twice, in turn with the baseline's: on a machine shared
// with other work, a pair of figures taken seconds apart compares more fairly than two runs.
const ROUNDS: usize = 2;
const FIRST_PAGE: &str = "first page";
const RESPONSES: &str = "whole responses";
const QUESTION_PAGE: &str = "question page";
const SAVES: &str = "page saves";
const SQLITE: &str = "sqlite";
const SQLITE_NORMAL: &str = "sqlite (synchronous = normal)";
const POSTGRES: &str = "postgres";
const POSTGRES_TWO: &str = "postgres, 2 instances";
const SCENARIOS: [&str; 5] = [
    "sqlite",
    "sqlite-normal",
    "baseline",
    "postgres",
    "postgres-2",
];
/// 64 bytes in hex: both instances must sign and read the same participants' session cookies.
const SHARED_SECRET_KEY: &str = "5f0e6c1d2b3a49788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\
                                 a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeeff00";

fn main() -> anyhow::Result<()> {
    // The baseline server is this executable started again (see support/baseline.rs).
    if let Some(served) = baseline::serve_if_asked() {
        return served;
    }
    tokio::runtime::Runtime::new()?.block_on(drive())
}

async fn drive() -> anyhow::Result<()> {
    let seconds = env_number("VOICES_BENCH_SECONDS", DEFAULT_SECONDS)?;
    let participants = env_number(
        "VOICES_BENCH_PARTICIPANTS",
        PARTICIPANTS_PER_SECOND * (seconds + WARM_UP.as_secs()),
    )?;
    let plan = Plan {
        duration: Duration::from_secs(seconds),
        participants: usize::try_from(participants)?,
    };
    let wanted = scenarios()?;
    let has = |scenario: &str| wanted.iter().any(|w| w == scenario);

    // The baseline syncs as the Voices run it is compared with does.
    let beside_sqlite = |synchronous| {
        if has("baseline") {
            Beside::Baseline(synchronous)
        } else {
            Beside::Nothing
        }
    };
    let mut reports = Vec::new();
    if has("sqlite") {
        let beside = beside_sqlite("FULL");
        reports.push(measure(SQLITE, Database::Sqlite, &[], beside, &plan).await?);
    }
    if has("sqlite-normal") {
        // What durability costs: the default waits for the disk at every commit.
        let normal = [("VOICES_SQLITE_SYNCHRONOUS", "normal")];
        let beside = beside_sqlite("NORMAL");
        let report = measure(SQLITE_NORMAL, Database::Sqlite, &normal, beside, &plan);
        reports.push(report.await?);
    }
    let mut skipped = None;
    for (scenario, backend, beside) in [
        ("postgres", POSTGRES, Beside::Nothing),
        ("postgres-2", POSTGRES_TWO, Beside::SecondInstance),
    ] {
        if !has(scenario) {
            continue;
        }
        // A database of its own for each run, so the two-instance run starts from the same state.
        match shared::postgres_scratch()? {
            Ok(scratch) => {
                let database = Database::Postgres(scratch.url.clone());
                reports.push(measure(backend, database, &[], beside, &plan).await?);
            }
            Err(why) => skipped = Some(why),
        }
    }
    print_tables(&reports, seconds);
    if let Some(note) = skipped {
        println!("\n{note}");
    }
    Ok(())
}

/// The runs named in `VOICES_BENCH_SCENARIOS` (comma-separated), all of them by default.
fn scenarios() -> anyhow::Result<Vec<String>> {
    let Ok(listed) = std::env::var("VOICES_BENCH_SCENARIOS") else {
        return Ok(SCENARIOS.iter().map(|s| s.to_string()).collect());
    };
    let wanted: Vec<String> = listed.split(',').map(|s| s.trim().to_string()).collect();
    if let Some(unknown) = wanted.iter().find(|w| !SCENARIOS.contains(&w.as_str())) {
        bail!("VOICES_BENCH_SCENARIOS: unknown scenario {unknown:?}; known: {SCENARIOS:?}");
    }
    Ok(wanted)
}

struct Plan {
    duration: Duration,
    participants: usize,
}

/// What runs beside the `voices` server measured.
#[derive(Clone, Copy, PartialEq)]
enum Beside {
    Nothing,
    /// The bare stack (support/baseline.rs) with this `PRAGMA synchronous`, measured in turn with
    /// Voices on the question page and page saves.
    Baseline(&'static str),
    /// A second `voices` process on the same database, taking half the connections.
    SecondInstance,
}

/// What a phase loads: the server processes whose CPU time and memory are read, and one browser
/// (keep-alive connection) to one of them per concurrent participant.
struct Target {
    pids: Vec<u32>,
    postgres: bool,
    browsers: Vec<Browser>,
}

/// One measured phase: what was done, in how long, at what CPU cost, and the servers' peak memory
/// after it (the larger one's, for two instances).
struct Phase {
    name: &'static str,
    round: usize,
    tally: Tally,
    elapsed: Duration,
    usage: Usage,
    peak_rss_kib: u64,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.tally.completed as f64 / self.elapsed.as_secs_f64()
    }

    fn requests(&self) -> usize {
        self.tally.steps.iter().map(Vec::len).sum()
    }

    fn requests_per_second(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }

    fn label(&self) -> String {
        match self.round {
            1 => self.name.to_string(),
            n => format!("{} (round {n})", self.name),
        }
    }
}

/// Warms up, then measures one window with the servers', the driver's and the database's CPU time.
async fn phase(
    target: &Target,
    name: &'static str,
    round: usize,
    jobs: Vec<Job>,
    duration: Duration,
) -> anyhow::Result<Phase> {
    window(&target.browsers, jobs.clone(), WARM_UP).await?;
    let before = Usage::of(&target.pids, target.postgres)?;
    let (tally, elapsed) = window(&target.browsers, jobs, duration).await?;
    let usage = Usage::of(&target.pids, target.postgres)?.since(&before);
    Ok(Phase {
        name,
        round,
        tally,
        elapsed,
        usage,
        peak_rss_kib: peak_rss_kib(&target.pids)?,
    })
}

fn peak_rss_kib(pids: &[u32]) -> anyhow::Result<u64> {
    let mut peak = 0;
    for pid in pids {
        peak = peak.max(server::status_kib(*pid, "VmHWM")?);
    }
    Ok(peak)
}

/// Page 1 for the same participant with the same answers, from Voices and from the baseline.
struct PageSizes {
    voices: usize,
    baseline: usize,
    /// The same bytes once each page's CSRF token is taken out.
    identical: bool,
}

struct Report {
    backend: &'static str,
    joined: usize,
    joining: Duration,
    /// Peak resident memory once everyone has joined, before the first phase.
    joined_peak_rss_kib: u64,
    phases: Vec<Phase>,
    /// The baseline's phases, each measured right after Voices's of the same name and round.
    baseline: Vec<Phase>,
    pages: Option<PageSizes>,
}

impl Report {
    /// The phase of that name (its first round).
    fn phase(&self, name: &str) -> &Phase {
        self.phases
            .iter()
            .find(|p| p.name == name)
            .expect("every phase is measured")
    }
}

type Answers = Vec<(String, String)>;

async fn measure(
    backend: &'static str,
    database: Database,
    settings: &[(&str, &str)],
    beside: Beside,
    plan: &Plan,
) -> anyhow::Result<Report> {
    let postgres = matches!(database, Database::Postgres(_));
    let mut settings = settings.to_vec();
    if beside == Beside::SecondInstance {
        settings.push(("VOICES_SECRET_KEY", SHARED_SECRET_KEY));
    }
    eprintln!("{backend}: starting the server");
    let mut servers = vec![Server::start_with(&database, &settings)?];
    servers[0].wait_until_healthy().await?;
    eprintln!("{backend}: publishing a questionnaire of {PAGES} pages with an open link");
    let join_path = publish(&servers[0]).await?.join_path;
    if beside == Beside::SecondInstance {
        // Started once the first has migrated the database and the study is published, so its own
        // start-up finds that work done; the admin and the study are made once, through the first.
        eprintln!("{backend}: starting the second instance");
        let mut second = Server::start_with(&database, &settings)?;
        second.wait_until_healthy().await?;
        servers.push(second);
    }
    // The connections are shared out evenly between the instances.
    let voices = Target {
        pids: servers.iter().map(|s| s.child.id()).collect(),
        postgres,
        browsers: (0..CONNECTIONS)
            .map(|n| Browser::new(servers[n % servers.len()].url("")))
            .collect::<anyhow::Result<_>>()?,
    };
    let joined = CONNECTIONS + plan.participants;
    eprintln!("{backend}: {joined} participants join through the open link");
    let started = Instant::now();
    let mut pool = join(&voices.browsers, &join_path, joined).await?;
    let joining = started.elapsed();
    let joined_peak_rss_kib = peak_rss_kib(&voices.pids)?;
    let regulars = pool.split_off(plan.participants);
    let pool = Arc::new(Mutex::new(pool));

    let mut phases = Vec::new();
    eprintln!(
        "{backend}: first page, {CONNECTIONS} connections, {:?}",
        plan.duration
    );
    let jobs = regulars.iter().cloned().map(Job::FirstPage).collect();
    phases.push(phase(&voices, FIRST_PAGE, 1, jobs, plan.duration).await?);

    eprintln!(
        "{backend}: whole responses, {CONNECTIONS} connections, {:?}",
        plan.duration
    );
    let jobs = vec![Job::Respond(pool); CONNECTIONS];
    phases.push(phase(&voices, RESPONSES, 1, jobs, plan.duration).await?);

    let mut regulars_consented: Vec<(Participant, Answers)> = Vec::with_capacity(CONNECTIONS);
    for (browser, mut who) in voices.browsers.iter().zip(regulars) {
        let answers = consented(browser, &mut who).await?;
        regulars_consented.push((who, answers));
    }
    let bare = match beside {
        Beside::Baseline(synchronous) => {
            let regulars = &mut regulars_consented;
            Some(bare_stack(&voices.browsers[0], regulars, synchronous).await?)
        }
        _ => None,
    };
    let rounds = if bare.is_some() { ROUNDS } else { 1 };
    let mut compared = Vec::new();
    for round in 1..=rounds {
        let question_pages: Vec<Job> = regulars_consented
            .iter()
            .map(|(who, _)| Job::QuestionPage(who.clone()))
            .collect();
        let saves: Vec<Job> = regulars_consented
            .iter()
            .map(|(who, answers)| Job::Save(who.clone(), answers.clone()))
            .collect();
        for (name, jobs) in [(QUESTION_PAGE, question_pages), (SAVES, saves)] {
            eprintln!(
                "{backend}: {name}, round {round}, {CONNECTIONS} connections, {:?}",
                plan.duration
            );
            phases.push(phase(&voices, name, round, jobs.clone(), plan.duration).await?);
            if let Some((_, target)) = &bare {
                eprintln!("{backend}: {name} on the baseline, round {round}");
                compared.push(phase(target, name, round, jobs, plan.duration).await?);
            }
        }
    }
    let pages = match &bare {
        Some((_, target)) => {
            let (who, _) = &mut regulars_consented[0];
            Some(page_sizes(&voices.browsers[0], &target.browsers[0], who).await?)
        }
        None => None,
    };

    for server in &mut servers {
        server.ensure_running().context("after the load")?;
    }
    Ok(Report {
        backend,
        joined,
        joining,
        joined_peak_rss_kib,
        phases,
        baseline: compared,
        pages,
    })
}

/// The baseline server, its template made from page 1 as the first consented participant sees it now,
/// holding the same participants as Voices.
async fn bare_stack(
    browser: &Browser,
    regulars: &mut [(Participant, Answers)],
    synchronous: &str,
) -> anyhow::Result<(Baseline, Target)> {
    let (who, _) = &mut regulars[0];
    let home = who.home().to_string();
    let html = page(browser, who, &format!("{home}/page/1")).await?;
    let (template, fields) = baseline::template(&html, &home, &csrf_token(&html)?)?;
    let homes: Vec<&str> = regulars.iter().map(|(who, _)| who.home()).collect();
    let mut bare = Baseline::start(&template, &fields, &homes, synchronous)?;
    bare.wait_until_listening()?;
    let target = Target {
        pids: vec![bare.pid()],
        postgres: false,
        browsers: (0..CONNECTIONS)
            .map(|_| Browser::new(bare.url("")))
            .collect::<anyhow::Result<_>>()?,
    };
    Ok((bare, target))
}

/// Both servers' page 1 for `who` once both have stored the same answers (after the page saves).
async fn page_sizes(
    voices: &Browser,
    bare: &Browser,
    who: &mut Participant,
) -> anyhow::Result<PageSizes> {
    let path = format!("{}/page/1", who.home());
    let theirs = page(voices, who, &path).await?;
    let ours = page(bare, who, &path).await?;
    let without_csrf = |html: &str| anyhow::Ok(html.replace(&csrf_token(html)?, ""));
    Ok(PageSizes {
        voices: theirs.len(),
        baseline: ours.len(),
        identical: without_csrf(&theirs)? == without_csrf(&ours)?,
    })
}

fn print_tables(reports: &[Report], seconds: u64) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{CONNECTIONS} concurrent keep-alive connections, each one participant's browser (own session \
         cookie and CSRF token); {seconds} s per phase after a {} s warm-up; {cores} CPU core(s) shared \
         by the server, this driver and PostgreSQL. Joining through the open link happens before the \
         measurements and is not counted.\n",
        WARM_UP.as_secs()
    );
    println!(
        "| backend | phase | completed/s | requests/s | p50 ms | p99 ms | max ms | server CPU-s per item \
         | database CPU-s per item | server CPU % | driver CPU % | other CPU % | peak RSS MiB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for report in reports {
        for phase in &report.phases {
            let all = phase.tally.all();
            let items = phase.tally.completed.max(1) as f64;
            let share = |cpu: f64| share_of_machine(cpu, phase.elapsed);
            let usage = &phase.usage;
            let database = usage
                .database
                .map_or("–".to_string(), |cpu| format!("{:.5}", cpu / items));
            println!(
                "| {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.5} | {database} | {:.0} | {:.0} | {:.0} | {:.1} |",
                report.backend,
                phase.label(),
                phase.per_second(),
                phase.requests_per_second(),
                percentile_ms(&all, 0.50),
                percentile_ms(&all, 0.99),
                percentile_ms(&all, 1.0),
                usage.server / items,
                share(usage.server),
                share(usage.driver),
                share(usage.other()),
                mib(phase.peak_rss_kib),
            );
        }
    }

    for report in reports.iter().filter(|r| !r.baseline.is_empty()) {
        print_comparison(report);
    }

    println!("\nWhole responses, by request:\n");
    println!("| backend | request | requests | p50 ms | p99 ms | max ms |");
    println!("|---|---|---:|---:|---:|---:|");
    for report in reports {
        let responses = report.phase(RESPONSES);
        // Steps the server's redirects skipped do not appear.
        let taken = STEPS
            .iter()
            .zip(&responses.tally.steps)
            .filter(|(_, l)| !l.is_empty());
        for (name, latencies) in taken {
            println!(
                "| {} | {name} | {} | {:.2} | {:.2} | {:.2} |",
                report.backend,
                latencies.len(),
                percentile_ms(latencies, 0.50),
                percentile_ms(latencies, 0.99),
                percentile_ms(latencies, 1.0),
            );
        }
    }

    println!("\nTargets (set for SQLite on this machine):\n");
    print!("| target |");
    for report in reports {
        print!(" {} |", report.backend);
    }
    println!();
    println!("|---|{}", "---|".repeat(reports.len()));
    let verdict = |fine: bool| if fine { "met" } else { "missed" };
    type Figure = fn(&Report) -> (String, bool);
    let targets: [(&str, Figure); 5] = [
        ("≥ 500 completed responses/s", |r| {
            let rate = r.phase(RESPONSES).per_second();
            (format!("{rate:.0}"), rate >= 500.0)
        }),
        ("≥ 2,000 page saves/s", |r| {
            let rate = r.phase(SAVES).per_second();
            (format!("{rate:.0}"), rate >= 2000.0)
        }),
        ("page save p99 < 50 ms", |r| {
            let p99 = percentile_ms(&r.phase(SAVES).tally.all(), 0.99);
            (format!("{p99:.1} ms"), p99 < 50.0)
        }),
        ("≥ 5,000 first pages/s", |r| {
            let rate = r.phase(FIRST_PAGE).per_second();
            (format!("{rate:.0}"), rate >= 5000.0)
        }),
        ("peak RSS < 64 MB", |r| {
            let peak = r.phases.iter().map(|p| p.peak_rss_kib).max().unwrap_or(0);
            let megabytes = peak as f64 * 1024.0 / 1e6;
            (format!("{megabytes:.1} MB"), megabytes < 64.0)
        }),
    ];
    for (target, figure) in targets {
        print!("| {target} |");
        for report in reports {
            let (value, fine) = figure(report);
            print!(" {value} ({}) |", verdict(fine));
        }
        println!();
    }

    println!();
    if reports.iter().any(|r| r.backend == POSTGRES_TWO) {
        println!(
            "{POSTGRES_TWO}: two `voices` processes on one database, 16 connections each; server CPU \
             is both processes' summed, peak RSS the larger one's.\n"
        );
    }
    for report in reports {
        let responses = report.phase(RESPONSES);
        println!(
            "{}: {} requests per whole response. {} participants joined through the open link \
             beforehand in {:.1} s ({:.0} joins/s, two requests each; peak RSS {:.1} MiB by then).{}",
            report.backend,
            responses.tally.per_response,
            report.joined,
            report.joining.as_secs_f64(),
            report.joined as f64 / report.joining.as_secs_f64(),
            mib(report.joined_peak_rss_kib),
            if responses.tally.ran_out {
                " The prepared participants ran out before the window closed, so fewer connections \
                 were busy at its end: set VOICES_BENCH_PARTICIPANTS higher."
            } else {
                ""
            }
        );
    }
}

/// Throughput, latency and server CPU of the rounds of one phase taken together.
struct Figures {
    requests_per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us_per_request: f64,
}

impl Figures {
    fn of<'a>(phases: impl Iterator<Item = &'a Phase>) -> Self {
        let (mut requests, mut seconds, mut cpu) = (0, 0.0, 0.0);
        let mut latencies = Vec::new();
        for phase in phases {
            requests += phase.requests();
            seconds += phase.elapsed.as_secs_f64();
            cpu += phase.usage.server;
            latencies.extend(phase.tally.all());
        }
        latencies.sort_unstable();
        Figures {
            requests_per_second: requests as f64 / seconds,
            p50_ms: percentile_ms(&latencies, 0.50),
            p99_ms: percentile_ms(&latencies, 0.99),
            cpu_us_per_request: cpu * 1e6 / requests.max(1) as f64,
        }
    }
}

/// Voices against the bare stack, path by path and round by round, then the targets for it.
fn print_comparison(report: &Report) {
    println!(
        "\nVoices / baseline per path ({}; the baseline with the same `synchronous`; measured in \
         turn, Voices first):\n",
        report.backend
    );
    println!(
        "| path | round | Voices req/s | baseline req/s | Voices / baseline | Voices p50 ms | baseline p50 ms \
         | Voices p99 ms | baseline p99 ms | Voices CPU-µs/req | baseline CPU-µs/req | CPU Voices / baseline |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let paths = [
        (QUESTION_PAGE, "GET /p/{t}/page/1"),
        (SAVES, "POST /p/{t}/page/1"),
    ];
    let mut overall = Vec::new();
    for (name, path) in paths {
        let rounds: Vec<Option<usize>> = (1..=ROUNDS).map(Some).chain([None]).collect();
        for round in rounds {
            let chosen = |p: &&Phase| p.name == name && round.is_none_or(|r| r == p.round);
            let voices = Figures::of(report.phases.iter().filter(chosen));
            let bare = Figures::of(report.baseline.iter().filter(chosen));
            println!(
                "| {path} | {} | {:.0} | {:.0} | {:.0} % | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.1} |",
                round.map_or("both".to_string(), |r| r.to_string()),
                voices.requests_per_second,
                bare.requests_per_second,
                100.0 * voices.requests_per_second / bare.requests_per_second,
                voices.p50_ms,
                bare.p50_ms,
                voices.p99_ms,
                bare.p99_ms,
                voices.cpu_us_per_request,
                bare.cpu_us_per_request,
                voices.cpu_us_per_request / bare.cpu_us_per_request,
            );
            if round.is_none() {
                overall.push((voices, bare));
            }
        }
    }
    if let Some(pages) = &report.pages {
        println!(
            "\nPage 1 with the same answers: {} bytes from Voices, {} from the baseline ({}).",
            pages.voices,
            pages.baseline,
            if pages.identical {
                "the same bytes once the CSRF tokens are taken out"
            } else {
                "they differ beyond the CSRF token"
            }
        );
    }
    let verdict = |fine: bool| if fine { "met" } else { "missed" };
    let [(page_voices, page_bare), (save_voices, save_bare)] = &overall[..] else {
        unreachable!("two paths are compared");
    };
    let page_share = page_voices.requests_per_second / page_bare.requests_per_second;
    let save_share = save_voices.requests_per_second / save_bare.requests_per_second;
    println!("\nTargets against the baseline (both rounds):\n");
    println!("| target | figure | verdict |");
    println!("|---|---:|---|");
    println!(
        "| question page GET ≥ 60 % of the baseline | {:.0} % | {} |",
        100.0 * page_share,
        verdict(page_share >= 0.60)
    );
    println!(
        "| page save ≥ 85 % of the baseline | {:.0} % | {} |",
        100.0 * save_share,
        verdict(save_share >= 0.85)
    );
    println!(
        "| Voices page save p99 < 20 ms | {:.1} ms | {} |",
        save_voices.p99_ms,
        verdict(save_voices.p99_ms < 20.0)
    );
}
