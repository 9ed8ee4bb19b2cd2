//! The durable outbox: emails queued in the database reach a real SMTP server on loopback once each,
//! through refusals, an absent server, restarts and several instances.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use reqwest::StatusCode;
use voices::config::Settings;
use voices::db::schema::outbox_messages as om;
use voices::db::DbConnection;
use voices::identity::Role;
use voices::mail::outbox::{
    self, Composed, Composer, Composition, Kind, OutboxMessage, Prepared, Queued,
};
use voices::mail::queries::{self, Outcome};

use crate::helpers::{spawn_composing, spawn_on, spawn_with, Backend, TestApp};
use crate::proxy::postgres_behind_a_proxy;
use crate::smtp::Sink;
use crate::{on_both_backends, on_both_databases};

/// Quick retries and polling, so refusals play out within a test.
fn quick(settings: &mut Settings, smtp_url: &str) {
    settings.smtp_url = smtp_url.to_string();
    settings.outbox.poll_ms = 50;
    settings.outbox.retry_base_seconds = 1;
    settings.outbox.retry_max_seconds = 1;
}

fn prepared(key: &str, to: &str) -> Queued {
    Queued {
        key: key.into(),
        kind: Kind::Prepared,
        study_id: None,
        campaign_id: None,
        participation_id: None,
        prepared: Some(Prepared {
            to: to.into(),
            subject: format!("About {key}"),
            text: format!("Plain text for {key}, with a secret link"),
            html: format!("<p>Rich text for {key}</p>"),
        }),
    }
}

/// Queues emails in one write, as the app does, and wakes the worker.
async fn queue(app: &TestApp, emails: Vec<Queued>) {
    let domain = message_domain(app);
    app.db
        .write(move |conn| {
            for email in &emails {
                assert!(outbox::queue(conn, email, &domain)?);
            }
            Ok::<_, anyhow::Error>(())
        })
        .await
        .unwrap();
    app.wake_outbox();
}

fn message_domain(app: &TestApp) -> String {
    url::Url::parse(&app.settings.base_url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string()
}

fn many(n: usize) -> Vec<Queued> {
    (0..n)
        .map(|i| prepared(&format!("bulk:{i}"), &format!("person{i}@example.org")))
        .collect()
}

#[derive(Debug, Queryable)]
struct Row {
    id: i64,
    status: String,
    attempts: i32,
    last_error: Option<String>,
    to_address: Option<String>,
    body_text: Option<String>,
    body_html: Option<String>,
}

async fn rows(app: &TestApp) -> Vec<Row> {
    app.db
        .read(|conn| {
            om::table
                .order(om::id)
                .select((
                    om::id,
                    om::status,
                    om::attempts,
                    om::last_error,
                    om::to_address,
                    om::body_text,
                    om::body_html,
                ))
                .load::<Row>(conn)
                .map_err(anyhow::Error::from)
        })
        .await
        .unwrap()
}

/// Waits until every email has this status.
async fn wait_until_all(app: &TestApp, status: &str, within: Duration) -> Vec<Row> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let rows = rows(app).await;
        if rows.iter().all(|r| r.status == status) {
            return rows;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all {status}: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_each_once(received: &[crate::smtp::Received], keys: &[String], domain: &str) {
    let ids: Vec<String> = received.iter().map(|r| r.message_id()).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a Message-ID arrived twice");
    let expected: HashSet<String> = keys.iter().map(|k| outbox::message_id(k, domain)).collect();
    assert_eq!(
        unique.into_iter().cloned().collect::<HashSet<_>>(),
        expected,
        "every email, and no other"
    );
}

/// Campaign emails for the test: sent with an opt-out link, except the one it cancels.
struct TestComposer;

impl Composer for TestComposer {
    fn compose(
        &self,
        _conn: &mut DbConnection,
        messages: &[OutboxMessage],
    ) -> QueryResult<HashMap<i64, Composition>> {
        Ok(messages
            .iter()
            .map(|m| {
                let composition = if m.idempotency_key.ends_with(":opted-out") {
                    Composition::Cancel("opted out".into())
                } else {
                    Composition::Send(Composed {
                        to: "ana@example.org".into(),
                        subject: "Have your say".into(),
                        text: "Plain invitation".into(),
                        html: "<p>Rich invitation</p>".into(),
                        opt_out_url: Some(format!("https://voices.example.org/o/{}", m.id)),
                    })
                };
                (m.id, composition)
            })
            .collect())
    }
}

fn campaign_email(key: &str) -> Queued {
    Queued {
        key: key.into(),
        kind: Kind::Invitation,
        study_id: None,
        campaign_id: None,
        participation_id: None,
        prepared: None,
    }
}

async fn an_email_arrives_once_with_its_message_id_and_both_parts(backend: Backend) {
    let (smtp_url, sink) = Sink::start();
    if backend == Backend::Postgres && std::env::var("VOICES_TEST_DATABASE_URL").is_err() {
        return;
    }
    let app = spawn_composing(
        backend,
        |s| quick(s, &smtp_url),
        Some(Arc::new(TestComposer)),
    )
    .await;
    queue(
        &app,
        vec![
            prepared("account:password_reset:1", "oli@example.org"),
            campaign_email("campaign:1:participant:1:invitation"),
            campaign_email("campaign:1:participant:2:opted-out"),
        ],
    )
    .await;
    let received = sink.wait_for(2, Duration::from_secs(10)).await;
    let domain = message_domain(&app);
    let account = received
        .iter()
        .find(|r| r.to == ["oli@example.org"])
        .expect("the prepared email");
    assert_eq!(
        account.message_id(),
        outbox::message_id("account:password_reset:1", &domain)
    );
    assert_eq!(
        account.header("Subject").as_deref(),
        Some("About account:password_reset:1")
    );
    assert!(account.message.contains("multipart/alternative"));
    assert!(account.message.contains("text/plain") && account.message.contains("text/html"));
    assert!(account
        .message
        .contains("Rich text for account:password_reset:1"));
    assert_eq!(account.header("List-Unsubscribe"), None);

    let invitation = received
        .iter()
        .find(|r| r.to == ["ana@example.org"])
        .expect("the composed email");
    let id = outbox::message_id("campaign:1:participant:1:invitation", &domain);
    assert_eq!(invitation.message_id(), id);
    assert!(invitation
        .header("List-Unsubscribe")
        .is_some_and(|h| h.starts_with("<https://voices.example.org/o/")));
    assert_eq!(
        invitation.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );

    let rows = wait_until_all_settled(&app).await;
    assert_eq!(rows[0].status, "sent");
    // Secrets such as reset links do not linger once sent.
    assert_eq!(
        (&rows[0].to_address, &rows[0].body_text, &rows[0].body_html),
        (&None, &None, &None)
    );
    assert_eq!(rows[1].status, "sent");
    assert_eq!(rows[2].status, "cancelled");
    assert_eq!(rows[2].last_error.as_deref(), Some("opted out"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 2, "sent once each");
}

async fn wait_until_all_settled(app: &TestApp) -> Vec<Row> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = rows(app).await;
        if rows
            .iter()
            .all(|r| r.status != "queued" && r.status != "sending")
        {
            return rows;
        }
        assert!(tokio::time::Instant::now() < deadline, "{rows:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn temporary_refusals_are_retried_with_backoff(backend: Backend) {
    let (smtp_url, sink) = Sink::start();
    sink.refuse_temporarily(2);
    let Some(app) = spawn_on(backend, |s| quick(s, &smtp_url)).await else {
        return;
    };
    let started = tokio::time::Instant::now();
    queue(&app, vec![prepared("retry:1", "oli@example.org")]).await;
    sink.wait_for(1, Duration::from_secs(15)).await;
    // Two refusals, each followed by a wait of retry_base_seconds (1 s).
    assert!(started.elapsed() >= Duration::from_secs(2));
    let rows = wait_until_all(&app, "sent", Duration::from_secs(5)).await;
    assert_eq!(rows[0].attempts, 3);
    assert_eq!(sink.refused(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 1, "delivered once");
}

async fn permanent_refusals_fail_with_the_reply_and_can_be_sent_again(backend: Backend) {
    let (smtp_url, sink) = Sink::start();
    let reply = "5.1.1 <gone@example.org> This mailbox is closed: the person left the trust";
    sink.refuse_permanently(Some(reply));
    let Some(app) = spawn_on(backend, |s| quick(s, &smtp_url)).await else {
        return;
    };
    queue(&app, vec![prepared("refused:1", "gone@example.org")]).await;
    let rows = wait_until_all(&app, "failed", Duration::from_secs(10)).await;
    assert_eq!(rows[0].attempts, 1);
    let error = rows[0].last_error.clone().unwrap();
    assert!(error.contains(reply) && error.contains("550"), "{error}");
    // Kept to be sent again: the text is cleared only once sent.
    assert!(rows[0].body_text.is_some());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.refused(), 1, "a permanent failure is not retried");

    let admin_id = app.signed_in_as("admin@example.org", Role::Admin).await;
    let (status, page) = app.get_text("/admin/outbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("This mailbox is closed"), "{page}");
    assert!(
        !page.contains("gone@example.org"),
        "no addresses on the page"
    );
    assert!(!page.contains("No mail server is set up"));

    let (_, token) = voices::accounts::actions::create_api_token(
        &app.db,
        &voices::audit::Origin::command_line(),
        admin_id,
        "ops",
    )
    .await
    .unwrap();
    let overview: serde_json::Value = app
        .client
        .get(app.url("/api/v1/admin/outbox"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["counts"]["failed"], 1);
    assert_eq!(overview["failed"][0]["id"], rows[0].id);
    assert_eq!(overview["no_mail_server"], serde_json::Value::Null);

    sink.refuse_permanently(None);
    let again = app
        .post_form(&format!("/admin/outbox/{}/retry", rows[0].id), &[])
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    sink.wait_for(1, Duration::from_secs(10)).await;
    let rows = wait_until_all(&app, "sent", Duration::from_secs(5)).await;
    assert_eq!(rows[0].attempts, 1, "counted from zero again");
    let (_, audit) = app.get_text("/admin/audit").await;
    assert!(audit.contains("email requeued"));

    let missing = app
        .client
        .post(app.url("/api/v1/admin/outbox/999999/retry"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn an_absent_mail_server_is_waited_for(backend: Backend) {
    let address = Sink::free_address();
    let smtp_url = format!("smtp://{address}");
    let Some(app) = spawn_on(backend, |s| {
        quick(s, &smtp_url);
        s.outbox.max_attempts = 30;
    })
    .await
    else {
        return;
    };
    queue(&app, vec![prepared("absent:1", "oli@example.org")]).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let row = rows(&app).await.remove(0);
        // A claim counts the attempt before it is made: between attempts the row is back in the queue.
        if row.attempts >= 2 && row.status != "sending" {
            assert_eq!(row.status, "queued");
            assert!(row.last_error.is_some());
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{row:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sink = Sink::start_on(address);
    sink.wait_for(1, Duration::from_secs(10)).await;
    wait_until_all(&app, "sent", Duration::from_secs(5)).await;
}

async fn a_restart_mid_send_loses_nothing_and_sends_nothing_twice(backend: Backend) {
    let (smtp_url, sink) = Sink::start();
    let Some(mut app) = spawn_on(backend, |s| {
        quick(s, &smtp_url);
        // Slow enough to stop in the middle.
        s.outbox.per_second = 300;
        s.outbox.batch_size = 20;
    })
    .await
    else {
        return;
    };
    let emails = many(300);
    let keys: Vec<String> = emails.iter().map(|e| e.key.clone()).collect();
    queue(&app, emails).await;
    sink.wait_for(60, Duration::from_secs(10)).await;
    app.stop().await;
    let at_stop = sink.count();
    assert!(at_stop < 300, "stopped mid-send");
    let rows = rows(&app).await;
    assert!(
        rows.iter().all(|r| r.status != "sending"),
        "nothing left claimed"
    );
    assert_eq!(
        rows.iter().filter(|r| r.status == "sent").count(),
        at_stop,
        "every email the server accepted is recorded as sent"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count(), at_stop, "a stopped app sends nothing");

    app.start_again().await;
    app.wake_outbox();
    let received = sink.wait_for(300, Duration::from_secs(20)).await;
    wait_until_all(&app, "sent", Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 300);
    assert_each_once(&received, &keys, &message_domain(&app));
}

/// Sends a few hundred emails through an outage of the database, begun once some have gone and ended
/// after `outage`: sending stops while the database cannot be written, and once it can, every email has
/// arrived exactly once.
async fn each_email_once_through_an_outage<B, R>(
    app: &TestApp,
    sink: &Sink,
    outage: Duration,
    begin: impl FnOnce() -> B,
    end: impl FnOnce(R),
) where
    B: std::future::Future<Output = R>,
{
    let emails = many(300);
    let keys: Vec<String> = emails.iter().map(|e| e.key.clone()).collect();
    queue(app, emails).await;
    sink.wait_for(60, Duration::from_secs(10)).await;
    let down = begin().await;
    // Sends already talking to the mail server finish; no other starts.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopped_at = sink.count();
    assert!(stopped_at < 300, "the outage began mid-send");
    tokio::time::sleep(outage - Duration::from_secs(1)).await;
    assert_eq!(
        sink.count(),
        stopped_at,
        "nothing is sent while what is sent cannot be recorded"
    );
    end(down);
    let received = sink.wait_for(300, Duration::from_secs(25)).await;
    wait_until_all(app, "sent", Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 300);
    assert_each_once(&received, &keys, &message_domain(app));
}

/// Slow enough for an outage to begin mid-batch (a batch takes 5 s); a lease longer than the outage.
fn steady(settings: &mut Settings, smtp_url: &str) {
    quick(settings, smtp_url);
    settings.outbox.per_second = 40;
    settings.outbox.batch_size = 200;
    settings.outbox.lease_seconds = 30;
}

/// PostgreSQL refusing connections mid-campaign: every connection dropped at once, new ones refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_mid_send_repeats_and_loses_nothing() {
    let (smtp_url, sink) = Sink::start();
    let Some((proxy, app)) = postgres_behind_a_proxy(|s| steady(s, &smtp_url)).await else {
        return;
    };
    each_email_once_through_an_outage(
        &app,
        &sink,
        Duration::from_secs(5),
        || async { proxy.cut() },
        |()| proxy.restore(),
    )
    .await;
}

/// Another process holding SQLite's write lock for longer than the app waits for it (its busy
/// timeout, 5 s): every write of the app fails meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_file_locked_mid_send_repeats_and_loses_nothing() {
    let (smtp_url, sink) = Sink::start();
    let app = spawn_with(Backend::Sqlite, |s| steady(s, &smtp_url)).await;
    let file = app.data_dir.path().join("voices.db");
    each_email_once_through_an_outage(
        &app,
        &sink,
        Duration::from_secs(7),
        || lock_for_writing(file),
        drop,
    )
    .await;
}

/// Holds the write lock of a SQLite file from another connection until dropped.
struct WriteLock {
    release: std::sync::mpsc::Sender<()>,
    holder: Option<std::thread::JoinHandle<()>>,
}

async fn lock_for_writing(file: std::path::PathBuf) -> WriteLock {
    let (locked, is_locked) = tokio::sync::oneshot::channel();
    let (release, released) = std::sync::mpsc::channel();
    let holder = std::thread::spawn(move || {
        let mut conn = diesel::SqliteConnection::establish(&file.to_string_lossy()).unwrap();
        conn.batch_execute("PRAGMA busy_timeout = 5000; BEGIN EXCLUSIVE")
            .unwrap();
        locked.send(()).unwrap();
        let _ = released.recv();
        conn.batch_execute("ROLLBACK").unwrap();
    });
    is_locked.await.unwrap();
    WriteLock {
        release,
        holder: Some(holder),
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.release.send(());
        if let Some(holder) = self.holder.take() {
            holder.join().unwrap();
        }
    }
}

/// A worker knows its rows by the lease it wrote: once that ran out and another worker claimed them, the
/// first can neither renew them (so it does not send them) nor record anything on them.
async fn a_lease_lost_to_another_claim_is_neither_renewed_nor_recorded(mut app: TestApp) {
    app.stop().await;
    queue(&app, many(2)).await;
    let sent = app
        .db
        .write(|conn| {
            let at = voices::db::now();
            let minute = chrono::Duration::seconds(60);
            // The first worker's lease has run out by the time the second claims.
            let first = at - minute;
            assert_eq!(queries::claim(conn, 10, at, first)?.len(), 2);
            let second = at + minute;
            let ids: Vec<i64> = queries::claim(conn, 10, at, second)?
                .iter()
                .map(|m| m.id)
                .collect();
            assert_eq!(ids.len(), 2, "claimed again once the lease ran out");
            let sent: Vec<(i64, Outcome)> = ids.iter().map(|id| (*id, Outcome::Sent)).collect();
            assert!(queries::renew(conn, &ids, &[first], at + minute * 2)?.is_empty());
            queries::record(conn, &sent, &[first], at)?;
            let status: Vec<String> = om::table.select(om::status).load(conn)?;
            assert_eq!(
                status,
                ["sending", "sending"],
                "the first worker records nothing"
            );

            let later = at + minute * 2;
            let mut renewed = queries::renew(conn, &ids, &[second], later)?;
            renewed.sort_unstable();
            assert_eq!(renewed, ids, "the second worker renews its claim");
            queries::record(conn, &sent, &[later], at)?;
            Ok::<_, anyhow::Error>(om::table.select(om::status).load::<String>(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(sent, ["sent", "sent"]);
}

/// Two instances behind a load balancer share one PostgreSQL outbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_postgres_never_send_twice() {
    let (smtp_url, sink) = Sink::start();
    let Some(app) = spawn_on(Backend::Postgres, |s| {
        quick(s, &smtp_url);
        s.outbox.batch_size = 10;
        s.mail_from = "First <first@example.org>".into();
    })
    .await
    else {
        return;
    };
    let second = app
        .another_instance(|s| s.mail_from = "Second <second@example.org>".into())
        .await;
    let emails = many(500);
    let keys: Vec<String> = emails.iter().map(|e| e.key.clone()).collect();
    queue(&app, emails).await;
    second.waker.wake();
    let received = sink.wait_for(500, Duration::from_secs(25)).await;
    wait_until_all(&app, "sent", Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.count(), 500);
    assert_each_once(&received, &keys, &message_domain(&app));
    let by_second = received
        .iter()
        .filter(|r| r.header("From").is_some_and(|f| f.contains("second@")))
        .count();
    assert!(
        by_second > 0 && by_second < 500,
        "both instances sent ({by_second} by the second)"
    );
}

async fn without_a_mail_server_emails_are_files_and_the_page_says_so(app: TestApp) {
    queue(&app, vec![prepared("files:1", "oli@example.org")]).await;
    let email = app.wait_for_email("oli@example.org").await;
    assert!(email.contains("Message-ID: <"));
    wait_until_all(&app, "sent", Duration::from_secs(5)).await;
    app.signed_in_as("admin@example.org", Role::Admin).await;
    let (_, page) = app.get_text("/admin/outbox").await;
    assert!(
        page.contains("No mail server is set up: emails are written as files in"),
        "{page}"
    );
    assert!(page.contains("outbox and nobody receives them."));
}

on_both_backends!(
    an_email_arrives_once_with_its_message_id_and_both_parts,
    temporary_refusals_are_retried_with_backoff,
    permanent_refusals_fail_with_the_reply_and_can_be_sent_again,
    an_absent_mail_server_is_waited_for,
    a_restart_mid_send_loses_nothing_and_sends_nothing_twice,
);

on_both_databases!(
    without_a_mail_server_emails_are_files_and_the_page_says_so,
    a_lease_lost_to_another_claim_is_neither_renewed_nor_recorded,
);
