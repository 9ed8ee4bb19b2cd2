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

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[path = "support/shared.rs"]
// Shared with the editor benches, whose browser sign-in this driver does not need.
#[allow(dead_code)]
mod shared;
use shared::{csrf_token, ScratchDatabase};
#[path = "support/server.rs"]
mod server;
use server::{Database, Server};

const CONNECTIONS: usize = 32;
/// Sections of the questionnaire, each one page for staff.
const PAGES: usize = 3;
const LEAD_EMAIL: &str = "bench.lead@example.org";
const LEAD_PASSWORD: &str = "a long passphrase for the response driver";
const SESSION_COOKIE: &str = "voices_session";
const TEXT_ANSWER: &str = "Protected time in the rota made the difference. Before that I joined the \
    meetings on my day off, and I stopped after the second one. The project lead also checked that the \
    papers were sent a week ahead, so people who needed longer to read them had the time.";
const DEFAULT_SECONDS: u64 = 10;
// Twice the target rate, so a server that meets it does not run out of fresh participants mid-phase.
const PARTICIPANTS_PER_SECOND: u64 = 1_500;
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const WARM_UP: Duration = Duration::from_secs(1);
const FIRST_PAGE: &str = "first page";
const RESPONSES: &str = "whole responses";
const SAVES: &str = "page saves";

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

    let mut reports = vec![measure("sqlite", Database::Sqlite, &plan).await?];
    let mut notes = Vec::new();
    let admin_url =
        std::env::var("VOICES_BENCH_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
    match ScratchDatabase::create(&admin_url) {
        // `scratch` outlives the server started inside `measure`, so the server is gone before the
        // database is dropped.
        Ok(scratch) => {
            let database = Database::Postgres(scratch.url.clone());
            reports.push(measure("postgres", database, &plan).await?);
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

fn env_number(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .with_context(|| format!("{name}={text:?} is not a whole number")),
        Err(_) => Ok(default),
    }
}

struct Plan {
    duration: Duration,
    participants: usize,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User and system CPU seconds a process has used, from /proc/<pid>/stat (`self` for this driver).
fn cpu_seconds(pid: &str) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    ticks_used(&stat)
        .map(|ticks| ticks as f64 / clock_ticks_per_second())
        .with_context(|| format!("no CPU times in {path}"))
}

/// utime + stime of a /proc/<pid>/stat line, in clock ticks.
fn ticks_used(stat: &str) -> Option<u64> {
    // The command name may hold spaces and parentheses; the fields after its last `)` start at field 3.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// CPU seconds of every PostgreSQL process on the machine: on PostgreSQL part of each request's work is
/// done in the database's backends, outside the server's process. The pool's connections stay open for
/// the whole run, so no backend's time is lost to an exit between two readings.
fn postgres_cpu_seconds() -> anyhow::Result<f64> {
    let mut ticks = 0;
    for entry in std::fs::read_dir("/proc")? {
        let path = entry?.path().join("stat");
        // Processes come and go while the directory is read.
        let Ok(stat) = std::fs::read_to_string(&path) else {
            continue;
        };
        if stat.contains(" (postgres) ") {
            ticks += ticks_used(&stat).unwrap_or(0);
        }
    }
    Ok(ticks as f64 / clock_ticks_per_second())
}

/// CPU seconds all processes on the machine have used, from /proc/stat: what the server, the driver and
/// the database did not use of it was other work on the machine, which the figures share the cores with.
fn machine_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/stat").context("reading /proc/stat")?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|line| line.strip_prefix("cpu "))
        .context("no cpu line in /proc/stat")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    // user nice system idle iowait irq softirq steal: all but idle and iowait is time spent working.
    let busy: u64 =
        ticks.iter().take(8).sum::<u64>() - ticks.get(3).unwrap_or(&0) - ticks.get(4).unwrap_or(&0);
    Ok(busy as f64 / clock_ticks_per_second())
}

/// CPU seconds used so far by the server, this driver, (on PostgreSQL) the database, and the machine.
struct Usage {
    server: f64,
    driver: f64,
    database: Option<f64>,
    machine: f64,
}

impl Usage {
    fn now(server: &Server, postgres: bool) -> anyhow::Result<Self> {
        Ok(Usage {
            server: cpu_seconds(&server.child.id().to_string())?,
            driver: cpu_seconds("self")?,
            database: if postgres {
                Some(postgres_cpu_seconds()?)
            } else {
                None
            },
            machine: machine_cpu_seconds()?,
        })
    }

    fn since(&self, before: &Usage) -> Usage {
        Usage {
            server: self.server - before.server,
            driver: self.driver - before.driver,
            database: self.database.zip(before.database).map(|(a, b)| a - b),
            machine: self.machine - before.machine,
        }
    }
}

/// The requests of a response, in the order a participant makes them.
#[derive(Clone, Copy)]
enum Step {
    Information,
    ConsentPage,
    Consent,
    Resume,
    Page,
    Save,
    Review,
    Submit,
    Done,
}

const STEPS: [&str; 9] = [
    "GET /p/{t} (information)",
    "GET /p/{t}/consent",
    "POST /p/{t}/consent",
    "GET /p/{t} (to page 1)",
    "GET /p/{t}/page/{n}",
    "POST /p/{t}/page/{n}",
    "GET /p/{t}/review",
    "POST /p/{t}/submit",
    "GET /p/{t}/done",
];

/// One participant's browser: the personal link, the session cookie and the session's CSRF token.
#[derive(Clone, Default)]
struct Participant {
    home: String,
    cookie: String,
    csrf: String,
}

/// An HTTP client holding exactly one keep-alive connection, which carries each participant's own
/// cookie by hand: one shared cookie jar would mix the participants' sessions, and a client per
/// participant would open a connection per participant.
#[derive(Clone)]
struct Browser {
    client: reqwest::Client,
    base: String,
}

struct Reply {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

#[derive(Clone, Copy)]
enum Expect<'a> {
    Page,
    /// A redirect to an address ending in this path.
    SeeOther(&'a str),
    /// A redirect whose address the caller checks.
    Redirect,
}

impl Browser {
    fn new(base: String) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(1)
            // Each redirect is a request of its own, counted and timed as one.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Browser { client, base })
    }

    async fn send(
        &self,
        who: &mut Participant,
        method: Method,
        path: &str,
        form: &[(&str, &str)],
        expect: Expect<'_>,
    ) -> anyhow::Result<Reply> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if !who.cookie.is_empty() {
            request = request.header(COOKIE, &who.cookie);
        }
        if method == Method::POST {
            request = request.form(form);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        for value in response.headers().get_all(SET_COOKIE) {
            let value = value.to_str()?;
            if value.starts_with(&format!("{SESSION_COOKIE}=")) {
                who.cookie = value.split(';').next().unwrap_or_default().to_string();
            }
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // The whole body is part of the response time, and reading it frees the connection.
        let body = response
            .text()
            .await
            .with_context(|| format!("{method} {path}"))?;
        check(
            &method,
            path,
            Reply {
                status,
                location,
                body,
            },
            expect,
        )
    }
}

/// The body of a reply that is what a participant's browser expects, or a loud failure with the body:
/// a 422 means the driver's answers were refused, a 404 that a route has moved.
fn check(method: &Method, path: &str, reply: Reply, expect: Expect<'_>) -> anyhow::Result<Reply> {
    let (wanted, fine) = match expect {
        Expect::Page => ("200".to_string(), reply.status == StatusCode::OK),
        Expect::SeeOther(to) => (
            format!("303 to {to}"),
            reply.status == StatusCode::SEE_OTHER
                && reply.location.as_deref().is_some_and(|l| l.ends_with(to)),
        ),
        Expect::Redirect => ("303".to_string(), reply.status == StatusCode::SEE_OTHER),
    };
    if !fine {
        let main = reply
            .body
            .find("<main")
            .map_or(&reply.body[..], |at| &reply.body[at..]);
        let excerpt: String = main.chars().take(4000).collect();
        bail!(
            "{method} {path} answered {} (Location: {:?}), expected {wanted}:\n{excerpt}",
            reply.status,
            reply.location
        );
    }
    Ok(reply)
}

/// An answer for every question on a questionnaire page, as a participant fills it in: the first option
/// of each choice, a few sentences in each text box. The option labels are the form's values; this
/// questionnaire's labels have no characters that HTML escapes.
fn answers(page: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut answers: Vec<(String, String)> = Vec::new();
    for (at, _) in page.match_indices("name=\"q-") {
        let start = page[..at].rfind('<').context("a field outside a tag")?;
        let end = at + page[at..].find('>').context("an unclosed tag")?;
        let tag = &page[start..end];
        let field = attribute(tag, "name").context("a field without a name")?;
        if answers.iter().any(|(known, _)| known == field) {
            continue;
        }
        let value = if tag.starts_with("<textarea") || attribute(tag, "type") == Some("text") {
            TEXT_ANSWER
        } else {
            attribute(tag, "value").with_context(|| format!("a choice without a value: {tag}"))?
        };
        answers.push((field.to_string(), value.to_string()));
    }
    if answers.is_empty() {
        bail!("no questions on the page");
    }
    Ok(answers)
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let marker = format!(" {name}=\"");
    let start = tag.find(&marker)? + marker.len();
    tag[start..].split('"').next()
}

/// The consent form with the two statements needed to take part ticked, and the optional one not.
fn agree(csrf: &str) -> [(&str, &str); 4] {
    [
        ("csrf_token", csrf),
        ("statement_1", "yes"),
        ("statement_2", "yes"),
        ("decision", "agree"),
    ]
}

/// A page's answers as the form posts them, with the session's CSRF token and the button pressed.
fn page_form<'a>(
    csrf: &'a str,
    go: &'a str,
    answers: &'a [(String, String)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![("csrf_token", csrf), ("go", go)];
    form.extend(answers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    form
}

/// A request refused because the measured window had closed: the response in progress is abandoned.
#[derive(Debug)]
struct WindowClosed;

impl std::fmt::Display for WindowClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the measured window closed")
    }
}

impl std::error::Error for WindowClosed {}

/// What one connection did in one window: the latency of each request by step, and how many items (first
/// pages, responses or saves) it completed.
struct Tally {
    steps: Vec<Vec<Duration>>,
    completed: usize,
    /// Requests in one whole response, as the server's redirects lead the participant.
    per_response: usize,
    ran_out: bool,
}

impl Tally {
    fn new() -> Self {
        Tally {
            steps: vec![Vec::new(); STEPS.len()],
            completed: 0,
            per_response: 0,
            ran_out: false,
        }
    }

    fn merge(&mut self, other: Tally) {
        for (mine, theirs) in self.steps.iter_mut().zip(other.steps) {
            mine.extend(theirs);
        }
        self.completed += other.completed;
        self.per_response = self.per_response.max(other.per_response);
        self.ran_out |= other.ran_out;
    }

    fn all(&self) -> Vec<Duration> {
        let mut all: Vec<Duration> = self.steps.iter().flatten().copied().collect();
        all.sort_unstable();
        all
    }
}

/// One connection's run: its browser, the end of the window and what it has seen so far.
struct Run {
    browser: Browser,
    deadline: Instant,
    tally: Tally,
}

impl Run {
    async fn step(
        &mut self,
        step: Step,
        who: &mut Participant,
        method: Method,
        path: &str,
        form: &[(&str, &str)],
        expect: Expect<'_>,
    ) -> anyhow::Result<Reply> {
        if Instant::now() >= self.deadline {
            return Err(WindowClosed.into());
        }
        let sent = Instant::now();
        let reply = self.browser.send(who, method, path, form, expect).await?;
        self.tally.steps[step as usize].push(sent.elapsed());
        Ok(reply)
    }

    /// One participant's whole response, from the information sheet to the thank-you page; returns how
    /// many requests it took.
    async fn respond(&mut self, who: &mut Participant) -> anyhow::Result<usize> {
        let before: usize = self.tally.steps.iter().map(Vec::len).sum();
        let home = who.home.clone();
        let csrf = who.csrf.clone();
        self.step(
            Step::Information,
            who,
            Method::GET,
            &home,
            &[],
            Expect::Page,
        )
        .await?;
        let consent = format!("{home}/consent");
        self.step(
            Step::ConsentPage,
            who,
            Method::GET,
            &consent,
            &[],
            Expect::Page,
        )
        .await?;
        let consented = self
            .step(
                Step::Consent,
                who,
                Method::POST,
                &consent,
                &agree(&csrf),
                Expect::Redirect,
            )
            .await?;
        let first = format!("{home}/page/1");
        let to = consented.location.unwrap_or_default();
        // Consent leads to the first page, or back to the link's address, which sends people on to it.
        if !to.ends_with(&first) {
            if !to.ends_with(&home) {
                bail!("POST {consent} went to {to}, expected {first} or {home}");
            }
            self.step(
                Step::Resume,
                who,
                Method::GET,
                &home,
                &[],
                Expect::SeeOther(&first),
            )
            .await?;
        }
        for n in 1..=PAGES {
            let page = format!("{home}/page/{n}");
            let html = self
                .step(Step::Page, who, Method::GET, &page, &[], Expect::Page)
                .await?;
            let answers = answers(&html.body)?;
            let next = if n < PAGES {
                format!("{home}/page/{}", n + 1)
            } else {
                format!("{home}/review")
            };
            let form = page_form(&csrf, "next", &answers);
            self.step(
                Step::Save,
                who,
                Method::POST,
                &page,
                &form,
                Expect::SeeOther(&next),
            )
            .await?;
        }
        self.step(
            Step::Review,
            who,
            Method::GET,
            &format!("{home}/review"),
            &[],
            Expect::Page,
        )
        .await?;
        let done = format!("{home}/done");
        let token = [("csrf_token", csrf.as_str())];
        let submit = format!("{home}/submit");
        self.step(
            Step::Submit,
            who,
            Method::POST,
            &submit,
            &token,
            Expect::SeeOther(&done),
        )
        .await?;
        self.step(Step::Done, who, Method::GET, &done, &[], Expect::Page)
            .await?;
        Ok(self.tally.steps.iter().map(Vec::len).sum::<usize>() - before)
    }

    async fn work(mut self, job: Job) -> anyhow::Result<Tally> {
        let outcome = match job {
            Job::FirstPage(mut who) => loop {
                let home = who.home.clone();
                match self
                    .step(
                        Step::Information,
                        &mut who,
                        Method::GET,
                        &home,
                        &[],
                        Expect::Page,
                    )
                    .await
                {
                    Ok(_) => self.tally.completed += 1,
                    Err(error) => break error,
                }
            },
            Job::Respond(pool) => loop {
                let next = pool.lock().expect("the pool's lock").pop();
                let Some(mut who) = next else {
                    self.tally.ran_out = true;
                    return Ok(self.tally);
                };
                match self.respond(&mut who).await {
                    Ok(requests) => {
                        self.tally.completed += 1;
                        self.tally.per_response = requests;
                    }
                    Err(error) => break error,
                }
            },
            Job::Save(mut who, answers) => loop {
                let page = format!("{}/page/1", who.home);
                let paused = format!("{}/pause", who.home);
                let csrf = who.csrf.clone();
                let form = page_form(&csrf, "pause", &answers);
                let saved = self
                    .step(
                        Step::Save,
                        &mut who,
                        Method::POST,
                        &page,
                        &form,
                        Expect::SeeOther(&paused),
                    )
                    .await;
                match saved {
                    Ok(_) => self.tally.completed += 1,
                    Err(error) => break error,
                }
            },
        };
        if outcome.is::<WindowClosed>() {
            Ok(self.tally)
        } else {
            Err(outcome)
        }
    }
}

/// What each connection does, over and over until the window closes.
#[derive(Clone)]
enum Job {
    /// Reloads the information sheet of a participant who has not consented yet.
    FirstPage(Participant),
    /// Responds from start to end as a new participant each time, taken from the shared pool.
    Respond(Arc<Mutex<Vec<Participant>>>),
    /// Saves page 1 of a consented participant with "Save and come back later".
    Save(Participant, Vec<(String, String)>),
}

/// Every connection works at its job until `duration` has passed; a response in progress then is
/// abandoned, so only what completed inside the window counts.
async fn window(
    browsers: &[Browser],
    jobs: Vec<Job>,
    duration: Duration,
) -> anyhow::Result<(Tally, Duration)> {
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = browsers
        .iter()
        .zip(jobs)
        .map(|(browser, job)| {
            let run = Run {
                browser: browser.clone(),
                deadline,
                tally: Tally::new(),
            };
            tokio::spawn(run.work(job))
        })
        .collect();
    let mut total = Tally::new();
    for task in tasks {
        total.merge(task.await.context("a load task panicked")??);
    }
    let elapsed = start.elapsed();
    for latencies in &mut total.steps {
        latencies.sort_unstable();
    }
    Ok((total, elapsed))
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

async fn measure(backend: &'static str, database: Database, plan: &Plan) -> anyhow::Result<Report> {
    let postgres = matches!(database, Database::Postgres(_));
    eprintln!("{backend}: starting the server");
    let mut server = Server::start(&database)?;
    server.wait_until_healthy().await?;
    eprintln!("{backend}: publishing a questionnaire of {PAGES} pages with an open link");
    let join_path = publish(&server).await?;

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

/// `count` participants join through the open link as a visitor does (the page for its session and
/// CSRF token, then the button), each keeping their own session.
async fn join(
    browsers: &[Browser],
    join_path: &str,
    count: usize,
) -> anyhow::Result<Vec<Participant>> {
    let next = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = browsers
        .iter()
        .map(|browser| {
            let (browser, next, join_path) = (browser.clone(), next.clone(), join_path.to_string());
            tokio::spawn(async move {
                let mut joined = Vec::new();
                while next.fetch_add(1, Ordering::Relaxed) < count {
                    let mut who = Participant::default();
                    let page = browser
                        .send(&mut who, Method::GET, &join_path, &[], Expect::Page)
                        .await?;
                    who.csrf = csrf_token(&page.body)?;
                    let csrf = who.csrf.clone();
                    let form = [("csrf_token", csrf.as_str())];
                    let joined_as = browser
                        .send(&mut who, Method::POST, &join_path, &form, Expect::Redirect)
                        .await?;
                    who.home = joined_as.location.unwrap_or_default();
                    if !who.home.starts_with("/p/") {
                        bail!(
                            "POST {join_path} went to {:?}, not to a personal link",
                            who.home
                        );
                    }
                    joined.push(who);
                }
                anyhow::Ok(joined)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(count);
    for task in tasks {
        all.extend(task.await.context("a joining task panicked")??);
    }
    Ok(all)
}

/// Takes a participant through consent to the first page (untimed) and returns that page's answers.
async fn consented(
    browser: &Browser,
    who: &mut Participant,
) -> anyhow::Result<Vec<(String, String)>> {
    let home = who.home.clone();
    let csrf = who.csrf.clone();
    let consent = format!("{home}/consent");
    browser
        .send(who, Method::POST, &consent, &agree(&csrf), Expect::Redirect)
        .await?;
    let page = browser
        .send(
            who,
            Method::GET,
            &format!("{home}/page/1"),
            &[],
            Expect::Page,
        )
        .await?;
    answers(&page.body)
}

/// Publishes a questionnaire for staff with an open link, through the CLI and the JSON API as an
/// operator and a study lead would, and returns the open link's path.
async fn publish(server: &Server) -> anyhow::Result<String> {
    server.cli(
        &[
            "create-admin",
            "--email",
            LEAD_EMAIL,
            "--name",
            "Bench Lead",
        ],
        &format!("{LEAD_PASSWORD}\n"),
    )?;
    let api = server.api(LEAD_EMAIL, "response driver", REQUEST_TIMEOUT)?;

    let study = api
        .call(
            Method::POST,
            "/studies",
            Some(json!({ "title": "Involvement in improvement work", "summary": "" })),
        )
        .await?["study"]["id"]
        .as_i64()
        .context("no study id")?;
    let questionnaire = api
        .call(
            Method::POST,
            &format!("/studies/{study}/questionnaires/import"),
            Some(questionnaire_file()),
        )
        .await?["questionnaire"]["id"]
        .as_i64()
        .context("no questionnaire id")?;
    let base = format!("/studies/{study}/questionnaires/{questionnaire}");
    let members = api
        .call(Method::GET, &format!("/studies/{study}/members"), None)
        .await?;
    let lead = members
        .as_array()
        .and_then(|all| all.iter().find(|m| m["email"] == LEAD_EMAIL))
        .and_then(|m| m["id"].as_i64())
        .context("the lead is not among the study's members")?;
    for (method, path, body) in [
        (
            Method::PUT,
            format!("{base}/sign-off-rule"),
            json!({ "member_ids": [lead], "needs_advisor": false, "needs_staff": false }),
        ),
        (
            Method::POST,
            format!("{base}/status"),
            json!({ "status": "pilot" }),
        ),
        (Method::POST, format!("{base}/sign-offs"), json!({})),
        (Method::POST, format!("{base}/publish"), json!({})),
    ] {
        api.call(method, &path, Some(body)).await?;
    }
    let closes_on = chrono::Utc::now().date_naive() + chrono::Duration::days(30);
    let created = api
        .call(
            Method::POST,
            &format!("{base}/open-links"),
            Some(json!({ "group": "staff", "closes_on": closes_on.to_string() })),
        )
        .await?;
    let link = created["link"].as_str().context("no open link")?;
    let at = link
        .find("/join/")
        .with_context(|| format!("not an open link: {link}"))?;
    Ok(link[at..].to_string())
}

/// Three pages for staff, each with a required single choice, a Likert item and an open question, and
/// an information sheet with two required consent statements and one optional.
fn questionnaire_file() -> Value {
    let likert = [
        "Strongly disagree",
        "Disagree",
        "Neither agree nor disagree",
        "Agree",
        "Strongly agree",
    ];
    let pages = [
        (
            "Your role",
            "improvement projects",
            "I know how to involve service users in a project.",
        ),
        (
            "Taking part",
            "project meetings",
            "My team makes time for involvement.",
        ),
        (
            "What would help",
            "training",
            "Involvement changes what a project does.",
        ),
    ];
    let sections: Vec<Value> = pages
        .iter()
        .enumerate()
        .map(|(n, (title, topic, statement))| {
            json!({
                "title": title,
                "introduction": format!("Questions about {topic}."),
                "questions": [
                    {
                        "key": format!("before_{n}"),
                        "kind": "single_choice",
                        "text": format!("Have you taken part in {topic} before?"),
                        "audiences": ["staff"],
                        "options": ["Yes", "No", "Not sure"],
                        "required": true
                    },
                    {
                        "key": format!("agree_{n}"),
                        "kind": "likert",
                        "text": statement,
                        "audiences": ["staff"],
                        "options": likert,
                        "likert_not_applicable": true
                    },
                    {
                        "key": format!("tell_{n}"),
                        "kind": "long_text",
                        "text": format!("What helped, or got in the way, with {topic}?"),
                        "audiences": ["staff"],
                        "probes": ["Can you give an example?"]
                    }
                ]
            })
        })
        .collect();
    json!({
        "format": "voices.questionnaire",
        "format_version": 1,
        "title": "Involvement in improvement work",
        "description": "What helps staff involve service users and carers.",
        "sections": sections,
        "information": {
            "summary": "We want to learn what helps and what gets in the way when service users and carers take part in improvement work.",
            "full_text": "## About the study\n\nA questionnaire of about 10 minutes.",
            "data_use": "Your name is kept apart from what you say.",
            "withdrawal_days": 14,
            "withdrawal_after": "After 14 days, what was collected is kept in anonymised form.",
            "retention": "Kept for five years, then deleted.",
            "contact": "The study team: involvement@example.org",
            "signposting": "If you feel upset, call the trust's crisis line (0800 000 0000, any time) or contact the study team.",
            "consent_statements": [
                { "text": "I have read the information about this study and had the chance to ask questions.", "required": true },
                { "text": "I agree to take part.", "required": true },
                { "text": "I agree that anonymised quotes from my answers may be used in reports.", "required": false }
            ]
        }
    })
}

/// Nearest-rank percentile in milliseconds of sorted latencies.
fn percentile_ms(sorted: &[Duration], fraction: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (fraction * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
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
            let share = |cpu: f64| 100.0 * cpu / phase.elapsed.as_secs_f64() / cores as f64;
            let usage = &phase.usage;
            let database = usage
                .database
                .map_or("–".to_string(), |cpu| format!("{:.5}", cpu / items));
            // Readings taken microseconds apart can make the remainder slightly negative.
            let other =
                (usage.machine - usage.server - usage.driver - usage.database.unwrap_or(0.0))
                    .max(0.0);
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
                share(other),
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
