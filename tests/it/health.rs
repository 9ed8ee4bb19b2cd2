//! `/healthz` says the process answers; `/readyz` says whether this instance can do its work (a write
//! commits, the disk has room, its background work runs). Without its database every page answers 503
//! quickly, with a time to retry, a message fitting what was asked, and a form given back unsaved; and
//! the service recovers by itself when the database does.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{csrf_from, spawn_on, spawn_with, Backend, TestApp};
use crate::{on_both_backends, on_both_databases};

on_both_databases!(readiness_fails_when_the_disk_is_nearly_full);
on_both_backends!(readiness_names_each_check_and_fails_without_the_database);

/// The default wait (1.5 s) answers within the 2 s promised; tests wait 1 s so that a busy test
/// machine cannot make a 503 late.
fn quick_to_give_up(settings: &mut voices::config::Settings) {
    settings.database_wait_ms = 1000;
}

async fn readyz(app: &TestApp) -> (StatusCode, Value) {
    let response = app.get("/readyz").await;
    let status = response.status();
    assert_eq!(response.headers()["cache-control"], "no-store");
    (status, response.json().await.unwrap())
}

fn check<'a>(body: &'a Value, name: &str) -> &'a Value {
    body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {body}"))
}

async fn readiness_names_each_check_and_fails_without_the_database(backend: Backend) {
    let Some(app) = spawn_on(backend, quick_to_give_up).await else {
        return;
    };
    app.signed_in_as("pat@example.org", voices::identity::Role::Member)
        .await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["failed"], serde_json::json!([]));
    let expected = match app.backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(body["database"], expected);
    for name in [
        "database_write",
        "disk_space",
        "outbox_worker",
        "campaign_schedule",
        "retention_schedule",
    ] {
        assert_eq!(check(&body, name)["ok"], true, "{name}: {body}");
    }
    let token = app.csrf().await;

    app.destroy_database();
    let started = Instant::now();
    let (status, body) = readyz(&app).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["failed"], serde_json::json!(["database_write"]));
    assert!(check(&body, "database_write")["problem"].is_string());
    // The process itself still answers: nothing to restart.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);

    if app.backend == Backend::Postgres {
        // A page asked for: 503 within 2 s, a time to retry, and no word of what is behind it.
        let html = unavailable_within_two_seconds(app.get("/account")).await;
        assert!(
            html.contains("This page could not be shown just now"),
            "{html}"
        );
        assert!(!html.contains("may not have been saved"));
        assert!(!html.contains("diesel") && !html.contains("postgres"));

        // A form sent: not saved, and given back whole, ready to send again.
        let typed = "Ward 7 & the carers' café: \"drop-in\" <Tuesdays>";
        let sent = app
            .client
            .post(app.url("/studies"))
            .form(&[
                ("title", typed),
                ("summary", "kept too"),
                ("csrf_token", &token),
            ])
            .send();
        let html = unavailable_within_two_seconds(async { sent.await.unwrap() }).await;
        assert!(html.contains("Not saved yet"), "{html}");
        assert!(html.contains(r#"action="&#x2F;studies""#), "{html}");
        let escaped = "Ward 7 &amp; the carers&#x27; café: &quot;drop-in&quot; &lt;Tuesdays&gt;";
        assert!(
            html.contains(&format!(r#"name="title" value="{escaped}""#)),
            "{html}"
        );
        assert!(html.contains(r#"name="summary" value="kept too""#));
        assert_eq!(
            csrf_from(&html),
            token,
            "the form goes back with its own token"
        );

        // The API says the same in its own shape.
        let response = app.get("/api/v1/me").await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unavailable");
    }
}

/// The body of a 503 that came within 2 s with a time to retry.
async fn unavailable_within_two_seconds(
    request: impl std::future::Future<Output = reqwest::Response>,
) -> String {
    let started = Instant::now();
    let response = request.await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    response.text().await.unwrap()
}

/// PostgreSQL going away and coming back (a restart, a network cut): pages answer 503 quickly while it
/// is gone, and everything works again when it is back, with no restart of Voices.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_outage_answers_503_quickly_and_recovers_without_a_restart() {
    let Some((proxy, app)) = crate::proxy::postgres_behind_a_proxy(quick_to_give_up).await else {
        return;
    };
    app.signed_in_as("pat@example.org", voices::identity::Role::Member)
        .await;
    proxy.cut();
    let html = unavailable_within_two_seconds(app.get("/account")).await;
    assert!(html.contains("This page could not be shown just now"));
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");

    proxy.restore();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.get("/account").await.status(), StatusCode::OK);
    let created = app
        .post_form(
            "/studies",
            &[("title", "After the outage"), ("summary", "")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
}

async fn readiness_fails_when_the_disk_is_nearly_full(app: TestApp) {
    let starved = app
        .another_instance(|s| s.health.min_free_disk_mb = u64::MAX / (1024 * 1024))
        .await;
    let response = app
        .client
        .get(format!("{}/readyz", starved.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["failed"], serde_json::json!(["disk_space"]), "{body}");
    assert!(check(&body, "disk_space")["problem"]
        .as_str()
        .unwrap()
        .contains("MiB free"));
}

/// Faults only root can make (an immutable file, a small file system); `.ci/run` runs as root and
/// sets VOICES_REQUIRE_FAULT_INJECTION so they are never skipped there.
fn can_inject(what: &str, done: std::io::Result<std::process::ExitStatus>) -> bool {
    if done.as_ref().is_ok_and(|s| s.success()) {
        return true;
    }
    assert!(
        std::env::var("VOICES_REQUIRE_FAULT_INJECTION").is_err(),
        "could not {what}: {done:?}"
    );
    eprintln!("NOTE: could not {what} (not root?); this test is skipped");
    false
}

fn run(program: &str, args: &[&str]) -> std::io::Result<std::process::ExitStatus> {
    std::process::Command::new(program).args(args).status()
}

/// A new study, sent as a person would send it to the instance at `address`: 303 when it was saved.
async fn create_study(app: &TestApp, address: &str, title: &str) -> StatusCode {
    let token = app.csrf().await;
    app.client
        .post(format!("{address}/studies"))
        .form(&[("title", title), ("summary", ""), ("csrf_token", &token)])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_file_made_read_only_recovers_without_a_restart() {
    let app = spawn_with(Backend::Sqlite, |_| {}).await;
    app.signed_in_as("pat@example.org", voices::identity::Role::Member)
        .await;
    let file = app.data_dir.path().join("voices.db");
    let file = file.to_str().unwrap();
    if !can_inject(
        "make the database file immutable",
        run("chattr", &["+i", file]),
    ) {
        return;
    }
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        check(&body, "database_write")["problem"],
        "the database file cannot be written"
    );
    // An instance started now can only open its connections read-only (SQLite's fallback), as a
    // long-running one does when its pool replaces connections while the file cannot be written.
    let late = app.another_instance(|_| {}).await;
    assert_eq!(
        app.client
            .get(format!("{}/account", late.address))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK,
        "reading still works"
    );
    let status = create_study(&app, &late.address, "Not yet").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    assert!(run("chattr", &["-i", file]).unwrap().success());
    let ready = app
        .client
        .get(format!("{}/readyz", late.address))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ready.status(),
        StatusCode::OK,
        "{}",
        ready.text().await.unwrap()
    );
    for n in 0..8 {
        let status = create_study(&app, &late.address, &format!("Study {n}")).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "write {n} after the file came back"
        );
    }
}

/// A small file system of its own, mounted for the test and unmounted after it.
struct SmallDisk(tempfile::TempDir);

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let size = format!("size={megabytes}m");
        let path = dir.path().to_str().unwrap();
        can_inject(
            "mount a small file system",
            run("mount", &["-t", "tmpfs", "-o", &size, "tmpfs", path]),
        )
        .then_some(SmallDisk(dir))
    }

    /// Fills the disk to the last byte.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.0.path().join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.write_all(&block[..1]);
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = run("umount", &["-l", self.0.path().to_str().unwrap()]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_reported_and_recovered_from_without_a_restart() {
    let Some(disk) = SmallDisk::mount(16) else {
        return;
    };
    let data_dir = disk.0.path().to_path_buf();
    let app = spawn_with(Backend::Sqlite, |s| {
        s.data_dir = data_dir.clone();
        s.database_url = format!("sqlite://{}", data_dir.join("voices.db").display());
        s.health.min_free_disk_mb = 1;
    })
    .await;
    app.signed_in_as("pat@example.org", voices::identity::Role::Member)
        .await;
    assert_eq!(readyz(&app).await.0, StatusCode::OK);
    let token = app.csrf().await;

    let filler = disk.fill();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(
        body["failed"]
            .as_array()
            .unwrap()
            .contains(&"disk_space".into()),
        "{body}"
    );
    // A write that needs room is refused as "not saved", with the form given back.
    let long = "words ".repeat(600);
    let response = app
        .client
        .post(app.url("/studies"))
        .form(&[
            ("title", "Full"),
            ("summary", &long),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let html = response.text().await.unwrap();
    assert!(html.contains("Not saved yet"), "{html}");

    std::fs::remove_file(filler).unwrap();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let created = app
        .post_form("/studies", &[("title", "Room again"), ("summary", &long)])
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    drop(app);
}
