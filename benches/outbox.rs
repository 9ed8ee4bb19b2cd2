//! Outbox throughput: starts an SMTP sink on loopback and the app in-process on SQLite (a temp data
//! folder) with `smtp_url` pointing at the sink, queues 10,000 emails, wakes the worker and measures
//! until the sink has every email and every row is recorded as sent. Prints emails/s and the process's
//! peak resident memory (VmHWM: app, sink and driver together).
//!
//! Two kinds of email (`VOICES_BENCH_SCENARIO`): `invitations` (the default) seeds a study with a
//! published questionnaire and 10,000 participants, then launches a campaign: queueing is the launch
//! (participations, recipients and outbox rows in one transaction), and every email is composed at send
//! time from the campaign's templates with its own derived links. `prepared` queues ready-made emails.
//!
//! Run with `cargo bench --bench outbox`. Settings come as the service reads them (defaults, then
//! `VOICES_*`), so e.g. `VOICES_OUTBOX__CONCURRENCY=16 cargo bench --bench outbox` compares a setting.
//! `VOICES_BENCH_EMAILS` changes the number of emails (default 10,000).

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use mailin_embedded::{response, Handler, Response, Server};
use voices::app::{build_state, run};
use voices::config::Settings;
use voices::mail::outbox::{self, Kind, Prepared, Queued};
use voices::mail::queries::status_counts;

const DEFAULT_EMAILS: usize = 10_000;
const TIMEOUT: Duration = Duration::from_secs(300);

/// Counts what arrives and keeps nothing, as a fast relay would.
#[derive(Clone)]
struct Sink(Arc<AtomicUsize>);

impl Handler for Sink {
    fn data_end(&mut self) -> Response {
        self.0.fetch_add(1, Ordering::Relaxed);
        response::OK
    }
}

fn start_sink(threads: u32) -> anyhow::Result<(String, Arc<AtomicUsize>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let url = format!("smtp://{}", listener.local_addr()?);
    let received = Arc::new(AtomicUsize::new(0));
    let mut server = Server::new(Sink(received.clone()));
    server
        .with_name("localhost")
        .with_num_threads(threads)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    Ok((url, received))
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn email(i: usize) -> Queued {
    Queued {
        key: format!("bench:{i}"),
        kind: Kind::Prepared,
        study_id: None,
        campaign_id: None,
        participation_id: None,
        prepared: Some(Prepared {
            to: format!("participant{i}@example.org"),
            subject: "Your views on the service".into(),
            text: "Dear participant,\n\nWe would like to hear about your experience. \
                   Follow the link below to take part; it takes about ten minutes.\n\n\
                   https://voices.example.org/p/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\n"
                .into(),
            html: "<p>Dear participant,</p><p>We would like to hear about your experience. \
                   Follow the link below to take part; it takes about ten minutes.</p>\
                   <p><a href=\"https://voices.example.org/p/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG\">\
                   Take part</a></p>"
                .into(),
        }),
    }
}

/// Seeds a study with a published questionnaire and `participants` people with email addresses, then
/// creates and launches a campaign to all of them. Returns how long the launch (the queueing) took.
async fn launch_campaign(
    db: &voices::db::Db,
    participants: usize,
    domain: String,
) -> anyhow::Result<Duration> {
    use voices::distribution::campaigns::actions::{self, CampaignInput};
    use voices::distribution::participants::rules::{Attributes, Group, Identity, NewParticipant};
    let (study, version) = db
        .write(move |conn| {
            let lead = voices::accounts::queries::insert_user(
                conn,
                "lead@example.org",
                "Lead",
                voices::identity::Role::Member,
                None,
            )?;
            let study = voices::studies::queries::insert_study(conn, "Involvement", "", lead)?;
            voices::studies::queries::insert_member(
                conn,
                study,
                lead,
                voices::studies::rules::Roles {
                    lead: true,
                    ..Default::default()
                },
                voices::studies::rules::Perspective::Staff,
            )?;
            let questionnaire = voices::studies::questionnaires::queries::insert_questionnaire(
                conn,
                study,
                "Your experience of involvement",
                "",
            )?;
            let version = voices::studies::versions::queries::insert_version(
                conn,
                &voices::studies::versions::queries::NewVersion {
                    questionnaire_id: questionnaire,
                    version_number: 1,
                    snapshot_json: "{}",
                    content_hash: "bench",
                    sign_offs: &[],
                    published_by: lead,
                },
            )?;
            let people: Vec<NewParticipant> = (0..participants)
                .map(|i| NewParticipant {
                    attributes: Attributes {
                        group: Group::Staff,
                        service_area: String::new(),
                        system_level: None,
                        tags: Vec::new(),
                    },
                    identity: Identity {
                        name: format!("Participant {i}"),
                        email: Some(format!("participant{i}@example.org")),
                        ..Identity::default()
                    },
                })
                .collect();
            voices::distribution::participants::queries::insert(conn, study, "import", &people)?;
            Ok::<_, anyhow::Error>((study, version))
        })
        .await?;
    let origin = voices::audit::Origin::command_line().by(1);
    let mut input = CampaignInput::suggested("The study team, involvement@example.org".into());
    input.name = "Benchmark".into();
    input.version_id = Some(version);
    input.closes_on = Some(voices::db::now().date() + chrono::Duration::days(30));
    let id = actions::create(db, &origin, study, input)
        .await
        .map_err(|e| anyhow::anyhow!("creating the campaign: {e}"))?;
    let campaign = actions::find(db, study, id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let launching = Instant::now();
    let invited = actions::launch(db, &origin, &campaign, domain)
        .await
        .map_err(|e| anyhow::anyhow!("launching: {e}"))?;
    anyhow::ensure!(
        invited == participants,
        "{invited} invited of {participants}"
    );
    Ok(launching.elapsed())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    voices::security::install_crypto_provider();
    let emails: usize = match std::env::var("VOICES_BENCH_EMAILS") {
        Ok(text) => text
            .parse()
            .context("VOICES_BENCH_EMAILS is not a number")?,
        Err(_) => DEFAULT_EMAILS,
    };
    let dir = tempfile::tempdir()?;
    let mut settings = Settings::load()?;
    let (smtp_url, received) = start_sink(
        u32::try_from(settings.outbox.concurrency)
            .unwrap_or(64)
            .saturating_add(4),
    )?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    settings.data_dir = dir.path().to_path_buf();
    settings.database_url = format!("sqlite://{}", dir.path().join("voices.db").display());
    settings.base_url = format!("http://{}", listener.local_addr()?);
    settings.smtp_url = smtp_url;
    let outbox_settings = settings.outbox.clone();
    let state = tokio::task::spawn_blocking(move || build_state(settings)).await??;
    let (db, waker, domain) = (
        state.db.clone(),
        state.outbox.waker(),
        state.settings.message_domain(),
    );
    let server = run(listener, state)?;
    let handle = server.handle();
    tokio::spawn(server);

    let scenario = std::env::var("VOICES_BENCH_SCENARIO").unwrap_or_else(|_| "invitations".into());
    let queued_in = match scenario.as_str() {
        "prepared" => {
            let queueing = Instant::now();
            db.write(move |conn| {
                for i in 0..emails {
                    outbox::queue(conn, &email(i), &domain)?;
                }
                Ok::<_, anyhow::Error>(())
            })
            .await?;
            queueing.elapsed()
        }
        "invitations" => launch_campaign(&db, emails, domain).await?,
        other => anyhow::bail!("VOICES_BENCH_SCENARIO is invitations or prepared, not {other:?}"),
    };

    let start = Instant::now();
    waker.wake();
    let mut delivered_in = None;
    loop {
        if delivered_in.is_none() && received.load(Ordering::Relaxed) >= emails {
            delivered_in = Some(start.elapsed());
        }
        let counts = db
            .read(|conn| status_counts(conn).map_err(anyhow::Error::from))
            .await?;
        if counts.sent as usize >= emails {
            break;
        }
        anyhow::ensure!(
            counts.failed == 0,
            "{} emails failed: is the sink refusing?",
            counts.failed
        );
        anyhow::ensure!(start.elapsed() < TIMEOUT, "not all sent within {TIMEOUT:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let recorded_in = start.elapsed();
    let delivered_in = delivered_in.unwrap_or(recorded_in);
    handle.stop(false).await;

    let rate = |d: Duration| emails as f64 / d.as_secs_f64();
    println!("Scenario: {scenario}");
    println!(
        "| emails | concurrency | batch | queue (one write) | all received by the sink | all recorded as sent | emails/s (recorded) | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {emails} | {} | {} | {:.2} s | {:.2} s ({:.0}/s) | {:.2} s | **{:.0}** | {:.1} MiB |",
        outbox_settings.concurrency,
        outbox_settings.batch_size,
        queued_in.as_secs_f64(),
        delivered_in.as_secs_f64(),
        rate(delivered_in),
        recorded_in.as_secs_f64(),
        rate(recorded_in),
        peak_rss_mib().unwrap_or(f64::NAN),
    );
    anyhow::ensure!(
        received.load(Ordering::Relaxed) == emails,
        "the sink received {} emails for {emails}",
        received.load(Ordering::Relaxed)
    );
    Ok(())
}
