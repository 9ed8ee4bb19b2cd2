//! Interview note-save driver: starts the real `voices` binary as a separate process, once on SQLite and
//! once on PostgreSQL, and measures the live guide's autosave, the note-save endpoint
//! `PUT /api/v1/studies/{id}/interviews/{iid}/notes/{question_id}`, with 50 interviewers typing: each
//! saves the notes of the question they are on every 2 s, naming the revision their last save returned,
//! and now and then moves on to the next question.
//!
//! Set-up, as an operator and a study lead would do it: `voices create-admin` and `create-api-token` on
//! the command line, then through the JSON API a study with a published questionnaire and an open link
//! (as `benches/respond.rs`), 50 interviewers added as study members with the interviewer role (new
//! accounts, invited), a token for each made on the command line, an interview assigned to each for a
//! new participant, and verbal consent recorded by each interviewer, which starts the interview.
//!
//! Three phases, each a warm-up and then a measured window:
//! 1. the interviewers alone;
//! 2. the interviewers with a steady background of participants answering online: whole responses
//!    (information, consent, three pages, review, submit) starting at random times, 2 a second on average
//!    (the figure);
//! 3. the interviewers while 32 participants' browsers save pages back to back, saturating the server.
//!
//! Run with `cargo bench --bench interviews`. Environment:
//! - `VOICES_BENCH_SECONDS`: measured seconds per phase (default 60);
//! - `VOICES_BENCH_INTERVIEWERS`: interviewers typing (default 50);
//! - `VOICES_BENCH_RESPONSES_PER_SECOND`: whole responses a second in the steady background (default 2);
//! - `VOICES_BENCH_SATURATE=0`: leave out the third phase;
//! - `VOICES_BENCH_POSTGRES_URL`, `VOICES_BENCH_REQUIRE_POSTGRES=1`: as for `benches/respond.rs`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[path = "support/shared.rs"]
// Shared with the editor benches, whose browser sign-in this driver does not need.
#[allow(dead_code)]
mod shared;
use shared::{env_number, mib, percentile_ms};
#[path = "support/server.rs"]
mod server;
use server::{Api, Database, Server};
#[path = "support/participants.rs"]
// Shared with the response driver, whose first-page and whole-response loads this driver does not run.
#[allow(dead_code)]
mod participants;
use participants::{
    consented, join, publish, window, Browser, Job, Published, Step, Tally, REQUEST_TIMEOUT,
};
#[path = "support/usage.rs"]
mod usage;
use usage::{share_of_machine, Usage};

const DEFAULT_SECONDS: u64 = 60;
const DEFAULT_INTERVIEWERS: u64 = 50;
const DEFAULT_RESPONSES_PER_SECOND: u64 = 2;
/// The live guide's autosave period.
const SAVE_EVERY: Duration = Duration::from_secs(2);
/// Words typed between two saves: a fast note-taker's 150 words a minute, for notes that grow quickly.
const WORDS_PER_SAVE: usize = 5;
/// On average an interviewer moves on to the next question after this many saves (40 s).
const SAVES_PER_QUESTION: f64 = 20.0;
/// Notes longer than this move the interviewer on whatever the draw (a note may hold 20,000 characters).
const NOTES_MAX: usize = 4_000;
const WARM_UP: Duration = Duration::from_secs(4);
/// Connections carrying the steady background; a participant's requests go back to back on one.
const BACKGROUND_CONNECTIONS: usize = 4;
/// Browsers saving pages back to back in the saturating phase, as in `benches/respond.rs`.
const SATURATING_CONNECTIONS: usize = 32;
/// The target for the note saves' p99, on SQLite with the steady background.
const TARGET_P99_MS: f64 = 20.0;
const ALONE: &str = "interviewers alone";
const STEADY: &str = "with participants answering (steady)";
const SATURATED: &str = "with 32 browsers saving pages flat out";
/// What the interviewers type, a few words at a time, round and round.
const NOTES_TEXT: &str = "Works nights on the ward, joined the improvement group last spring after \
    the falls audit. Felt welcome at the first meeting but the papers came the evening before, so she \
    could not read them in time. Says the chair asked her opinion directly, which helped. Stopped going \
    in the summer because the meetings moved to Tuesday mornings and nobody covered her shift. Would go \
    back if the time were protected in the rota. Mentioned a carer who left after feeling talked over. \
    Probe: an example of a change that came from service users? The new discharge leaflet, rewritten \
    with two carers; she thinks it is clearer now and patients ask fewer questions at the door.";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let plan = Plan {
        duration: Duration::from_secs(env_number("VOICES_BENCH_SECONDS", DEFAULT_SECONDS)?),
        interviewers: usize::try_from(env_number(
            "VOICES_BENCH_INTERVIEWERS",
            DEFAULT_INTERVIEWERS,
        )?)?,
        responses_per_second: env_number(
            "VOICES_BENCH_RESPONSES_PER_SECOND",
            DEFAULT_RESPONSES_PER_SECOND,
        )?,
        saturate: env_number("VOICES_BENCH_SATURATE", 1)? != 0,
    };
    if plan.interviewers == 0 {
        bail!("VOICES_BENCH_INTERVIEWERS must be at least 1");
    }

    let (reports, skipped) =
        server::on_both_databases(|backend, database| measure(backend, database, &plan)).await?;
    print_tables(&reports, &plan);
    if let Some(note) = skipped {
        println!("\n{note}");
    }
    Ok(())
}

struct Plan {
    duration: Duration,
    interviewers: usize,
    responses_per_second: u64,
    saturate: bool,
}

/// One question of an interviewer's guide, with what they have noted so far.
struct Question {
    id: i64,
    /// The structured answer sent with the notes: the first choice offered, nothing for open questions.
    answer: String,
    notes: String,
    /// What the last save returned, named by the next one.
    revision: i32,
    seconds: i32,
}

/// An interviewer in an interview: their own token and keep-alive connection, and their guide.
struct Interviewer {
    api: Api,
    /// `/studies/{id}/interviews/{iid}/notes/`
    notes_path: String,
    questions: Vec<Question>,
    /// The question they are on.
    at: usize,
    /// Where in `NOTES_TEXT` their next words start.
    word: usize,
    rng: StdRng,
}

impl Interviewer {
    /// The notes of the question they are on grow by a few words, and its clock by a period.
    fn type_more(&mut self) {
        let question = &mut self.questions[self.at];
        for word in NOTES_TEXT
            .split_whitespace()
            .cycle()
            .skip(self.word)
            .take(WORDS_PER_SAVE)
        {
            if !question.notes.is_empty() {
                question.notes.push(' ');
            }
            question.notes.push_str(word);
        }
        self.word += WORDS_PER_SAVE;
        question.seconds += SAVE_EVERY.as_secs() as i32;
    }

    /// Saves the question's notes as the autosave does; anything but a 200 with a new revision is an
    /// error.
    async fn save(&mut self) -> anyhow::Result<()> {
        let question = &mut self.questions[self.at];
        let path = format!("{}{}", self.notes_path, question.id);
        let body = json!({
            "notes": question.notes,
            "answer": question.answer,
            "status": "asked",
            "elapsed_seconds": question.seconds,
            "revision": question.revision,
        });
        let (status, text) = self.api.request(Method::PUT, &path, Some(body)).await?;
        let answer: Value = serde_json::from_str(&text).unwrap_or_default();
        let named = question.revision;
        match status {
            StatusCode::OK => {
                question.revision = answer["revision"]
                    .as_i64()
                    .and_then(|r| i32::try_from(r).ok())
                    .with_context(|| format!("PUT /api/v1{path}: no revision in {text}"))?;
                if answer["changed"] != true {
                    bail!("PUT /api/v1{path}: longer notes were not stored: {text}");
                }
                Ok(())
            }
            StatusCode::CONFLICT => {
                // Carry on from what is stored, so that one conflict does not make every later save one.
                if let Some(stored) = answer["stored"]["revision"].as_i64() {
                    question.revision = i32::try_from(stored)?;
                }
                bail!(
                    "PUT /api/v1{path} naming revision {named} answered 409: {}",
                    excerpt(&text)
                )
            }
            _ => bail!("PUT /api/v1{path} answered {status}: {}", excerpt(&text)),
        }
    }

    /// Now and then the interview moves on to the next question.
    fn maybe_move_on(&mut self) {
        let long = self.questions[self.at].notes.len() > NOTES_MAX;
        if long || self.rng.gen_bool(1.0 / SAVES_PER_QUESTION) {
            self.at = (self.at + 1) % self.questions.len();
        }
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(300).collect()
}

/// What the interviewers' saves did in one window.
#[derive(Default)]
struct Notes {
    /// Of the saves answered 200 with a new revision.
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    /// The longest a save started after it was due: the driver keeping time (or a save's wait for the
    /// one before it).
    lag: Duration,
}

impl Notes {
    fn merge(&mut self, other: Notes) {
        self.latencies.extend(other.latencies);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.lag = self.lag.max(other.lag);
    }
}

/// One interviewer's autosave until the deadline: type, save, wait for the next period.
async fn take_notes(mut me: Interviewer, deadline: Instant) -> (Interviewer, Notes) {
    let mut notes = Notes::default();
    // Interviewers do not start together: each one's first save falls at a random point of a period.
    let mut due = Instant::now() + SAVE_EVERY.mul_f64(me.rng.gen::<f64>());
    while due < deadline {
        tokio::time::sleep_until(due.into()).await;
        me.type_more();
        let sent = Instant::now();
        notes.lag = notes.lag.max(sent.saturating_duration_since(due));
        match me.save().await {
            Ok(()) => notes.latencies.push(sent.elapsed()),
            Err(error) => {
                notes.errors += 1;
                notes.first_error.get_or_insert(format!("{error:#}"));
            }
        }
        me.maybe_move_on();
        // People type at their own pace: ±10 % on each period lets interviewers drift past each other
        // instead of saving on the same beat for the whole run.
        due += SAVE_EVERY.mul_f64(me.rng.gen_range(0.9..1.1));
    }
    (me, notes)
}

/// The interviewers take notes while the browsers do their jobs, for `duration`.
async fn interviewing(
    interviewers: Vec<Interviewer>,
    browsers: &[Browser],
    jobs: Vec<Job>,
    duration: Duration,
) -> anyhow::Result<(Vec<Interviewer>, Notes, Tally, Duration)> {
    let start = Instant::now();
    let deadline = start + duration;
    let tasks: Vec<_> = interviewers
        .into_iter()
        .map(|me| tokio::spawn(take_notes(me, deadline)))
        .collect();
    let (background, _) = window(browsers, jobs, duration).await?;
    let mut notes = Notes::default();
    let mut interviewers = Vec::with_capacity(tasks.len());
    for task in tasks {
        let (me, saved) = task.await.context("an interviewer's task panicked")?;
        interviewers.push(me);
        notes.merge(saved);
    }
    let elapsed = start.elapsed();
    notes.latencies.sort_unstable();
    Ok((interviewers, notes, background, elapsed))
}

/// One measured phase: the note saves, the background, what they cost, and the server's peak memory.
struct Phase {
    name: &'static str,
    notes: Notes,
    background: Tally,
    elapsed: Duration,
    usage: Usage,
    peak_rss_kib: u64,
}

impl Phase {
    fn rate(&self, count: usize) -> f64 {
        count as f64 / self.elapsed.as_secs_f64()
    }
}

/// Warms up, then measures one window with the server's, the driver's and the database's CPU time.
async fn phase(
    server: &Server,
    postgres: bool,
    interviewers: Vec<Interviewer>,
    browsers: &[Browser],
    name: &'static str,
    jobs: Vec<Job>,
    duration: Duration,
) -> anyhow::Result<(Vec<Interviewer>, Phase)> {
    let (interviewers, ..) = interviewing(interviewers, browsers, jobs.clone(), WARM_UP).await?;
    let before = Usage::now(server, postgres)?;
    let (interviewers, notes, background, elapsed) =
        interviewing(interviewers, browsers, jobs, duration).await?;
    let usage = Usage::now(server, postgres)?.since(&before);
    let phase = Phase {
        name,
        notes,
        background,
        elapsed,
        usage,
        peak_rss_kib: server.status_kib("VmHWM")?,
    };
    Ok((interviewers, phase))
}

struct Report {
    backend: &'static str,
    phases: Vec<Phase>,
    /// Questions with notes at the end, their mean and longest length in characters.
    noted: (usize, f64, usize),
    /// The steady background's participants ran out before its window closed.
    ran_out: bool,
}

async fn measure(backend: &'static str, database: Database, plan: &Plan) -> anyhow::Result<Report> {
    let postgres = matches!(database, Database::Postgres(_));
    eprintln!("{backend}: starting the server");
    let mut server = Server::start(&database)?;
    server.wait_until_healthy().await?;
    eprintln!("{backend}: publishing a questionnaire with an open link");
    let published = publish(&server).await?;
    eprintln!(
        "{backend}: {} interviewers join the study, each with an interview assigned and consented",
        plan.interviewers
    );
    let mut interviewers = staff(&server, &published, plan.interviewers).await?;

    let browsers = (0..SATURATING_CONNECTIONS)
        .map(|_| Browser::new(server.url("")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Arrivals are random: room for half as many again as the rate makes on average.
    let windows = WARM_UP + plan.duration;
    let paced = (plan.responses_per_second as f64 * windows.as_secs_f64() * 1.5) as usize + 20;
    let joined = paced + SATURATING_CONNECTIONS;
    eprintln!("{backend}: {joined} participants join through the open link");
    let mut pool = join(&browsers, &published.join_path, joined).await?;
    let regulars = pool.split_off(paced);
    let pool = Arc::new(Mutex::new(pool));

    let mut phases = Vec::new();
    let mut loads: Vec<(&'static str, Vec<Job>)> = vec![(ALONE, Vec::new())];
    if plan.responses_per_second > 0 {
        let mean_gap = Duration::from_secs_f64(
            BACKGROUND_CONNECTIONS as f64 / plan.responses_per_second as f64,
        );
        loads.push((
            STEADY,
            vec![Job::Paced(pool.clone(), mean_gap); BACKGROUND_CONNECTIONS],
        ));
    }
    if plan.saturate {
        let mut jobs = Vec::with_capacity(SATURATING_CONNECTIONS);
        for (browser, mut who) in browsers.iter().zip(regulars) {
            let answers = consented(browser, &mut who).await?;
            jobs.push(Job::Save(who, answers));
        }
        loads.push((SATURATED, jobs));
    }
    for (name, jobs) in loads {
        eprintln!("{backend}: {name}, {:?}", plan.duration);
        let (back, measured) = phase(
            &server,
            postgres,
            interviewers,
            &browsers,
            name,
            jobs,
            plan.duration,
        )
        .await?;
        interviewers = back;
        phases.push(measured);
    }
    server.ensure_running().context("after the load")?;

    let lengths: Vec<usize> = interviewers
        .iter()
        .flat_map(|me| &me.questions)
        .map(|q| q.notes.chars().count())
        .filter(|&n| n > 0)
        .collect();
    let mean = lengths.iter().sum::<usize>() as f64 / lengths.len().max(1) as f64;
    let ran_out = phases
        .iter()
        .any(|p| p.name == STEADY && p.background.ran_out);
    Ok(Report {
        backend,
        phases,
        noted: (
            lengths.len(),
            mean,
            lengths.iter().copied().max().unwrap_or(0),
        ),
        ran_out,
    })
}

/// The interviewers: each a new study member with the interviewer role, with a token, an interview
/// assigned by the lead for a new participant, and verbal consent recorded, which starts it.
async fn staff(
    server: &Server,
    published: &Published,
    count: usize,
) -> anyhow::Result<Vec<Interviewer>> {
    let (lead, study) = (&published.lead, published.study);
    let today = chrono::Utc::now().date_naive().to_string();
    let mut interviewers = Vec::with_capacity(count);
    for n in 1..=count {
        let email = format!("interviewer{n:02}@example.org");
        let added = lead
            .call(
                Method::POST,
                &format!("/studies/{study}/members"),
                Some(json!({
                    "email": email,
                    "display_name": format!("Interviewer {n}"),
                    "interviewer": true,
                    "perspective": "staff",
                })),
            )
            .await?;
        let user_id = added["member"]["user_id"]
            .as_i64()
            .with_context(|| format!("no account id for the new member: {added}"))?;
        // The account waits for its invitation to be taken up; a token made on the command line stands
        // in for signing in.
        let api = server.api(&email, "live guide", REQUEST_TIMEOUT)?;
        let interview = lead
            .call(
                Method::POST,
                &format!("/studies/{study}/interviews"),
                Some(json!({
                    "new_participant": {
                        "name": format!("Interviewee {n}"),
                        "group": "staff",
                        "preferred_mode": "in_person",
                    },
                    "version_id": published.version.to_string(),
                    "interviewer_id": user_id.to_string(),
                    "date": today,
                    "time": "09:30",
                    "mode": "in_person",
                })),
            )
            .await?["id"]
            .as_i64()
            .context("no interview id")?;
        let base = format!("/studies/{study}/interviews/{interview}");
        let consent = api
            .call(
                Method::POST,
                &format!("{base}/consent"),
                Some(json!({ "answers": [true, true, true], "attested": true })),
            )
            .await?;
        if consent["outcome"] != "consented" {
            bail!("recording consent for interview {interview} answered {consent}");
        }
        // The live guide: the questions in the participant's wording, with their ids.
        let opened = api.call(Method::GET, &base, None).await?;
        let questions: Vec<Question> = opened["guide"]["sections"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|section| section["questions"].as_array().into_iter().flatten())
            .map(|q| {
                let open = matches!(q["kind"].as_str(), Some("long_text" | "short_text"));
                Ok(Question {
                    id: q["id"].as_i64().context("a question without an id")?,
                    answer: match q["answers"][0].as_str() {
                        Some(first) if !open => first.to_string(),
                        _ => String::new(),
                    },
                    notes: String::new(),
                    revision: 0,
                    seconds: 0,
                })
            })
            .collect::<anyhow::Result<_>>()?;
        if questions.is_empty() {
            bail!("the guide of interview {interview} has no questions: {opened}");
        }
        let mut rng = StdRng::seed_from_u64(n as u64);
        interviewers.push(Interviewer {
            api,
            notes_path: format!("{base}/notes/"),
            at: rng.gen_range(0..questions.len()),
            questions,
            word: rng.gen_range(0..NOTES_TEXT.split_whitespace().count()),
            rng,
        });
    }
    Ok(interviewers)
}

fn print_tables(reports: &[Report], plan: &Plan) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{} interviewers, each with their own token and keep-alive connection, save the notes of the \
         question they are on every {} s (±10 %, {WORDS_PER_SAVE} more words each time, naming the \
         revision their last save returned), moving on to the next question after {SAVES_PER_QUESTION} \
         saves on average. {} s per phase after a {} s warm-up. Steady background: whole responses \
         (information, consent, {} pages, review, submit) starting at random, {} a second on average, \
         on {BACKGROUND_CONNECTIONS} connections. {cores} CPU core(s) shared by the server, this driver \
         and PostgreSQL.\n",
        plan.interviewers,
        SAVE_EVERY.as_secs(),
        plan.duration.as_secs(),
        WARM_UP.as_secs(),
        participants::PAGES,
        plan.responses_per_second,
    );
    println!(
        "Note saves (`PUT /api/v1/studies/{{id}}/interviews/{{iid}}/notes/{{question_id}}`):\n"
    );
    println!(
        "| backend | phase | saves | saves/s | errors | p50 ms | p95 ms | p99 ms | max ms | driver's \
         longest lag ms |"
    );
    println!("|---|---|---:|---:|---|---:|---:|---:|---:|---:|");
    for report in reports {
        for phase in &report.phases {
            let notes = &phase.notes;
            let errors = match &notes.first_error {
                Some(first) => format!("{} (first: {first})", notes.errors),
                None => "0".into(),
            };
            println!(
                "| {} | {} | {} | {:.1} | {errors} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} |",
                report.backend,
                phase.name,
                notes.latencies.len(),
                phase.rate(notes.latencies.len()),
                percentile_ms(&notes.latencies, 0.50),
                percentile_ms(&notes.latencies, 0.95),
                percentile_ms(&notes.latencies, 0.99),
                percentile_ms(&notes.latencies, 1.0),
                notes.lag.as_secs_f64() * 1000.0,
            );
        }
    }

    println!("\nBackground and machine (CPU as a share of all cores):\n");
    println!(
        "| backend | phase | responses/s | page saves/s | requests/s | page save p50 ms | page save \
         p99 ms | server CPU % | PostgreSQL CPU % | driver CPU % | other CPU % | peak RSS MiB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for report in reports {
        for phase in &report.phases {
            let background = &phase.background;
            let saves = &background.steps[Step::Save as usize];
            let requests: usize = background.steps.iter().map(Vec::len).sum();
            let responses = if phase.name == SATURATED {
                "–".to_string()
            } else {
                format!("{:.2}", phase.rate(background.completed))
            };
            let share = |cpu: f64| share_of_machine(cpu, phase.elapsed);
            let usage = &phase.usage;
            let database = usage
                .database
                .map_or("–".to_string(), |cpu| format!("{:.0}", share(cpu)));
            println!(
                "| {} | {} | {responses} | {:.1} | {:.1} | {:.2} | {:.2} | {:.0} | {database} | {:.0} | \
                 {:.0} | {:.1} |",
                report.backend,
                phase.name,
                phase.rate(saves.len()),
                phase.rate(requests),
                percentile_ms(saves, 0.50),
                percentile_ms(saves, 0.99),
                share(usage.server),
                share(usage.driver),
                share(usage.other()),
                mib(phase.peak_rss_kib),
            );
        }
    }

    println!("\nTarget (set for SQLite on this machine):\n");
    print!("| target |");
    for report in reports {
        print!(" {} |", report.backend);
    }
    println!();
    println!("|---|{}", "---|".repeat(reports.len()));
    print!(
        "| note save p99 < {TARGET_P99_MS} ms, {} interviewers with participants answering \
         (steady) |",
        plan.interviewers
    );
    for report in reports {
        match report.phases.iter().find(|p| p.name == STEADY) {
            Some(phase) => {
                let p99 = percentile_ms(&phase.notes.latencies, 0.99);
                let fine = p99 < TARGET_P99_MS && phase.notes.errors == 0;
                let verdict = if fine { "met" } else { "missed" };
                print!(" {p99:.1} ms ({verdict}) |");
            }
            None => print!(" not measured |"),
        }
    }
    println!();

    println!();
    for report in reports {
        let (questions, mean, longest) = report.noted;
        println!(
            "{}: at the end {questions} questions had notes, {mean:.0} characters on average, the \
             longest {longest}.{}",
            report.backend,
            if report.ran_out {
                " The steady background's participants ran out before its window closed."
            } else {
                ""
            }
        );
    }
}
