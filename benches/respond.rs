//! Response load driver: starts the real `voices` binary as a separate process, once on SQLite and once
//! on PostgreSQL, publishes a three-page questionnaire with an open link through the JSON API, has
//! participants join through that link, and then measures what participants do with 32 concurrent
//! keep-alive connections, each one participant's browser:
//!
//! - the first page (`GET /p/{t}`, the information sheet) for people who have not consented yet;
//! - whole responses: information, consent, three pages of answers, review, submit, a fresh
//!   participant each time;
//! - page saves: consented participants saving page 1 over and over ("Save and come back later").
//!
//! SQLite is measured twice: with the default `synchronous = FULL` and with `NORMAL`, to show what
//! durability through a power cut costs.
//!
//! It prints throughput, latency per request, the server's CPU seconds per completed item and its peak
//! resident memory as Markdown tables, then the targets beside the figures.
//!
//! Run with `cargo bench --bench respond`. Environment:
//! - `VOICES_BENCH_SECONDS`: measured seconds per phase (default 10);
//! - `VOICES_BENCH_PARTICIPANTS`: participants who join before the measurements for the whole-response
//!   phase (default 1,500 per second of it, warm-up included);
//! - `VOICES_BENCH_POSTGRES_URL`: a PostgreSQL server URL allowed to create databases
//!   (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! - `VOICES_BENCH_REQUIRE_POSTGRES=1`: fail instead of skipping the PostgreSQL run when it cannot be set up.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

#[path = "support/shared.rs"]
// Shared with the editor benches, whose browser sign-in this driver does not need.
#[allow(dead_code)]
mod shared;
use shared::{env_number, mib, percentile_ms};
#[path = "support/server.rs"]
#[allow(dead_code)]
mod server;
use server::{Database, Server};
#[path = "support/participants.rs"]
// Shared with the interview driver, whose steady background of responses this driver does not run.
#[allow(dead_code)]
mod participants;
use participants::{consented, join, publish, window, Browser, Job, Tally, PAGES, STEPS};
#[path = "support/usage.rs"]
mod usage;
use usage::{share_of_machine, Usage};

const CONNECTIONS: usize = 32;
const DEFAULT_SECONDS: u64 = 10;
// Twice the target rate, so a server that meets it does not run out of fresh participants mid-phase.
const PARTICIPANTS_PER_SECOND: u64 = 1_500;
const WARM_UP: Duration = Duration::from_secs(1);
const FIRST_PAGE: &str = "first page";
const RESPONSES: &str = "whole responses";
const SAVES: &str = "page saves";
const SQLITE_NORMAL: &str = "sqlite (synchronous = normal)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds = env_number("VOICES_BENCH_SECONDS", DEFAULT_SECONDS)?;
    let participants = env_number(
        "VOICES_BENCH_PARTICIPANTS",
        PARTICIPANTS_PER_SECOND * (seconds + WARM_UP.as_secs()),
    )?;
    let plan = Plan {
        duration: Duration::from_secs(seconds),
        participants: usize::try_from(participants)?,
    };

    let (mut reports, skipped) =
        server::on_both_databases(|backend, database| measure(backend, database, &[], &plan))
            .await?;
    // What durability costs: the default waits for the disk at every commit.
    let normal = [("VOICES_SQLITE_SYNCHRONOUS", "normal")];
    reports.insert(
        1,
        measure(SQLITE_NORMAL, Database::Sqlite, &normal, &plan).await?,
    );
    print_tables(&reports, seconds);
    if let Some(note) = skipped {
        println!("\n{note}");
    }
    Ok(())
}

struct Plan {
    duration: Duration,
    participants: usize,
}

/// One measured phase: what was done, in how long, at what CPU cost, and the server's peak memory after it.
struct Phase {
    name: &'static str,
    tally: Tally,
    elapsed: Duration,
    usage: Usage,
    peak_rss_kib: u64,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.tally.completed as f64 / self.elapsed.as_secs_f64()
    }

    fn requests_per_second(&self) -> f64 {
        self.tally.steps.iter().map(Vec::len).sum::<usize>() as f64 / self.elapsed.as_secs_f64()
    }
}

/// Warms up, then measures one window with the server's, the driver's and the database's CPU time.
async fn phase(
    server: &Server,
    postgres: bool,
    browsers: &[Browser],
    name: &'static str,
    jobs: Vec<Job>,
    duration: Duration,
) -> anyhow::Result<Phase> {
    window(browsers, jobs.clone(), WARM_UP).await?;
    let before = Usage::now(server, postgres)?;
    let (tally, elapsed) = window(browsers, jobs, duration).await?;
    let usage = Usage::now(server, postgres)?.since(&before);
    Ok(Phase {
        name,
        tally,
        elapsed,
        usage,
        peak_rss_kib: server.status_kib("VmHWM")?,
    })
}

struct Report {
    backend: &'static str,
    joined: usize,
    joining: Duration,
    /// Peak resident memory once everyone has joined, before the first phase.
    joined_peak_rss_kib: u64,
    phases: Vec<Phase>,
}

impl Report {
    fn phase(&self, name: &str) -> &Phase {
        self.phases
            .iter()
            .find(|p| p.name == name)
            .expect("every phase is measured")
    }
}

async fn measure(
    backend: &'static str,
    database: Database,
    settings: &[(&str, &str)],
    plan: &Plan,
) -> anyhow::Result<Report> {
    let postgres = matches!(database, Database::Postgres(_));
    eprintln!("{backend}: starting the server");
    let mut server = Server::start_with(&database, settings)?;
    server.wait_until_healthy().await?;
    eprintln!("{backend}: publishing a questionnaire of {PAGES} pages with an open link");
    let join_path = publish(&server).await?.join_path;

    let browsers = (0..CONNECTIONS)
        .map(|_| Browser::new(server.url("")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let joined = CONNECTIONS + plan.participants;
    eprintln!("{backend}: {joined} participants join through the open link");
    let started = Instant::now();
    let mut pool = join(&browsers, &join_path, joined).await?;
    let joining = started.elapsed();
    let joined_peak_rss_kib = server.status_kib("VmHWM")?;
    let regulars = pool.split_off(plan.participants);
    let pool = Arc::new(Mutex::new(pool));

    let mut phases = Vec::new();
    eprintln!(
        "{backend}: first page, {CONNECTIONS} connections, {:?}",
        plan.duration
    );
    let jobs = regulars.iter().cloned().map(Job::FirstPage).collect();
    phases.push(
        phase(
            &server,
            postgres,
            &browsers,
            FIRST_PAGE,
            jobs,
            plan.duration,
        )
        .await?,
    );

    eprintln!(
        "{backend}: whole responses, {CONNECTIONS} connections, {:?}",
        plan.duration
    );
    let jobs = vec![Job::Respond(pool); CONNECTIONS];
    let responses = phase(&server, postgres, &browsers, RESPONSES, jobs, plan.duration).await?;
    phases.push(responses);

    eprintln!(
        "{backend}: page saves, {CONNECTIONS} connections, {:?}",
        plan.duration
    );
    let mut jobs = Vec::with_capacity(CONNECTIONS);
    for (browser, mut who) in browsers.iter().zip(regulars) {
        jobs.push(
            consented(browser, &mut who)
                .await
                .map(|answers| Job::Save(who, answers))?,
        );
    }
    phases.push(phase(&server, postgres, &browsers, SAVES, jobs, plan.duration).await?);

    server.ensure_running().context("after the load")?;
    Ok(Report {
        backend,
        joined,
        joining,
        joined_peak_rss_kib,
        phases,
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
                phase.name,
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
