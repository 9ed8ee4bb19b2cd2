//! The `voices` command line, run as a real process.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use voices::db::DbConnection;

use crate::helpers::{spawn_on, spawn_with, Backend, TestApp};
use crate::on_both_backends;
use crate::smtp::Sink;

fn voices(data_dir: &std::path::Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let database_url = format!("sqlite://{}/voices.db", data_dir.display());
    let data_dir = data_dir.to_string_lossy();
    let mut settings = vec![
        ("VOICES_DATA_DIR", data_dir.as_ref()),
        ("VOICES_DATABASE_URL", database_url.as_str()),
    ];
    settings.extend_from_slice(env);
    run_voices(args, stdin, &settings)
}

/// Runs the `voices` command with these settings in its environment, `stdin` typed in.
pub fn run_voices(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_voices"))
        .args(args)
        .env("VOICES_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run voices");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[test]
fn help_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let out = voices(dir.path(), &["--help"], "", &[]);
    assert!(out.status.success());
    let help = text(&out.stdout);
    for command in [
        "serve",
        "migrate",
        "create-admin",
        "create-api-token",
        "backup",
        "restore",
        "check",
        "probe",
    ] {
        assert!(help.contains(command), "{command} in {help}");
    }
}

#[test]
fn migrate_create_admin_and_token_script_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let out = voices(dir.path(), &["migrate"], "", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("applied to the sqlite database"));
    assert!(dir.path().join("voices.db").exists());

    let short = voices(
        dir.path(),
        &["create-admin", "--email", "root@example.org"],
        "short\n",
        &[],
    );
    assert!(!short.status.success());
    assert!(text(&short.stderr).contains("at least 12 characters"));

    let out = voices(
        dir.path(),
        &[
            "create-admin",
            "--email",
            "root@example.org",
            "--name",
            "Rita Root",
        ],
        "a long enough password\n",
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Administrator account"));

    let again = voices(
        dir.path(),
        &["create-admin", "--email", "ROOT@example.org"],
        "a long enough password\n",
        &[],
    );
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already exists"));

    let out = voices(
        dir.path(),
        &[
            "create-api-token",
            "--email",
            "root@example.org",
            "--name",
            "ci",
        ],
        "",
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_string();
    assert!(token.starts_with("vt_") && token.len() == 46, "{token}");

    let missing = voices(
        dir.path(),
        &[
            "create-api-token",
            "--email",
            "who@example.org",
            "--name",
            "x",
        ],
        "",
        &[],
    );
    assert!(!missing.status.success());
    assert!(text(&missing.stderr).contains("no account has that email address"));
}

#[test]
fn production_refuses_unsafe_settings_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let out = voices(dir.path(), &["serve"], "", &[("VOICES_ENV", "production")]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("VOICES_SECRET_KEY must be set in production"));

    let key = "ab".repeat(64);
    let out = voices(
        dir.path(),
        &["serve"],
        "",
        &[("VOICES_ENV", "production"), ("VOICES_SECRET_KEY", &key)],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("must start with https://"));
}

#[test]
fn a_mistyped_database_url_is_an_error_not_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = voices(
        dir.path(),
        &["migrate"],
        "",
        &[("VOICES_DATABASE_URL", "postgress://localhost/voices")],
    );
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("must start with sqlite:// or postgres://"));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file was created"
    );

    let out = voices(
        dir.path(),
        &["migrate"],
        "",
        &[("VOICES_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("connect"),
        "{}",
        text(&out.stderr)
    );
}

/// Logs written to a pipe (a log collector, `| tee`, systemd's journal) carry no terminal colour codes.
#[test]
fn logs_to_a_pipe_have_no_colour_codes() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}/voices.db", dir.path().display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_voices"))
        .arg("serve")
        .env("VOICES_LOG", "info")
        .env_remove("VOICES_LOG_FORMAT")
        .env("VOICES_DATA_DIR", dir.path())
        .env("VOICES_DATABASE_URL", &database_url)
        .env("VOICES_BIND", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run voices");
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while let Ok(line) = received.recv_timeout(std::time::Duration::from_secs(60)) {
        let running = line.contains("Voices is running");
        seen.push(line);
        if running {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        seen.iter().any(|l| l.contains("Voices is running")),
        "the start was logged: {seen:?}"
    );
    for line in &seen {
        assert!(!line.contains("\x1b["), "a colour code in {line:?}");
    }
}

/// Runs `voices` on a test app's database and data folder, as an operator would beside the service.
fn on_app(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> Output {
    let data_dir = app.data_dir.path().to_string_lossy();
    let mut settings = vec![
        ("VOICES_DATA_DIR", data_dir.as_ref()),
        ("VOICES_DATABASE_URL", app.settings.database_url.as_str()),
    ];
    settings.extend_from_slice(env);
    run_voices(args, "", &settings)
}

fn said(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// The report line of one check, if it has that outcome ("ok" or "FAILED").
fn line<'a>(report: &'a str, outcome: &str, check: &str) -> Option<&'a str> {
    report.lines().find(|l| {
        l.split_whitespace().next() == Some(outcome) && l[outcome.len()..].trim().starts_with(check)
    })
}

fn database_backend(backend: Backend) -> voices::db::Backend {
    match backend {
        Backend::Sqlite => voices::db::Backend::Sqlite,
        Backend::Postgres => voices::db::Backend::Postgres,
    }
}

on_both_backends!(
    check_passes_and_says_what_it_found,
    migrate_keeps_a_way_back_first,
    a_database_a_newer_version_migrated_is_refused,
);

async fn check_passes_and_says_what_it_found(backend: Backend) {
    let Some(app) = spawn_on(backend, |_| {}).await else {
        return;
    };
    let (smtp, _sink) = Sink::start();
    let out = on_app(&app, &["check"], &[("VOICES_SMTP_URL", &smtp)]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}", said(&out));
    for check in [
        "settings",
        "secret key",
        "base URL",
        "data folder",
        "database",
        "schema",
        "mail",
    ] {
        assert!(line(&report, "ok", check).is_some(), "{check} in {report}");
    }
    let newest = voices::db::latest_migration(database_backend(backend)).unwrap();
    assert!(
        report.contains(&format!("at migration {newest}, this version's newest")),
        "{report}"
    );
    assert!(report.contains("answered and accepted"), "{report}");

    // A mail server that is not there fails the check, and only that line.
    let closed = format!("smtp://{}", Sink::free_address());
    let out = on_app(&app, &["check"], &[("VOICES_SMTP_URL", &closed)]);
    let report = text(&out.stdout);
    assert!(!out.status.success());
    let mail = line(&report, "FAILED", "mail").unwrap_or_else(|| panic!("{report}"));
    assert!(mail.contains("could not connect"), "{mail}");
    assert!(
        text(&out.stderr).contains("1 of 7 checks failed"),
        "{}",
        said(&out)
    );
}

#[test]
fn check_reports_every_problem_on_its_own_line() {
    let dir = tempfile::tempdir().unwrap();
    // A fresh folder: no database yet is fine, and the check does not make one.
    let out = voices(dir.path(), &["check"], "", &[]);
    assert!(out.status.success(), "{}", said(&out));
    let report = text(&out.stdout);
    assert!(
        line(&report, "ok", "database").is_some_and(|l| l.contains("no SQLite file yet")),
        "{report}"
    );
    assert!(line(&report, "ok", "mail").is_some_and(|l| l.contains("nobody receives them")));
    assert!(!dir.path().join("voices.db").exists());

    let out = voices(
        dir.path(),
        &["check"],
        "",
        &[
            ("VOICES_ENV", "production"),
            ("VOICES_DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"),
        ],
    );
    let report = text(&out.stdout);
    assert!(!out.status.success());
    let failed = |check| line(&report, "FAILED", check).unwrap_or_else(|| panic!("{report}"));
    assert!(failed("secret key").contains("VOICES_SECRET_KEY must be set in production"));
    assert!(failed("base URL").contains("must start with https://"));
    assert!(failed("database").contains("connect"), "{report}");
    assert!(line(&report, "ok", "data folder").is_some(), "{report}");
    assert!(
        text(&out.stderr).contains("3 of 6 checks failed"),
        "{}",
        said(&out)
    );

    // Settings that cannot be read stop the check at its first line.
    let out = voices(
        dir.path(),
        &["check"],
        "",
        &[("VOICES_DATABASE_POOL_SIZE", "lots")],
    );
    let report = text(&out.stdout);
    assert!(!out.status.success());
    assert!(line(&report, "FAILED", "settings").is_some(), "{report}");
    assert_eq!(report.lines().count(), 1, "{report}");
}

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

async fn migrate_keeps_a_way_back_first(backend: Backend) {
    let Some(mut app) = spawn_on(backend, |_| {}).await else {
        return;
    };
    app.stop().await;
    // The database as the version before this one left it.
    app.db
        .write(|conn| {
            match conn {
                DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
                DbConnection::Postgres(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
            }
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .await
        .unwrap();
    let before = app.db.check_schema_not_newer().unwrap().unwrap();
    let newest = voices::db::latest_migration(database_backend(backend)).unwrap();
    assert!(before < newest);

    let out = on_app(&app, &["migrate"], &[]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}", said(&out));
    assert!(report.contains("1 migration(s) applied"), "{report}");
    match backend {
        Backend::Sqlite => {
            let copies: Vec<_> = std::fs::read_dir(app.data_dir.path())
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.to_string_lossy()
                        .ends_with(&format!("-schema-{before}.db"))
                })
                .collect();
            assert_eq!(copies.len(), 1, "{report}");
            assert!(
                report.contains(&copies[0].display().to_string()),
                "{report}"
            );
            let copy =
                voices::db::Db::connect(&format!("sqlite://{}", copies[0].display()), 1).unwrap();
            assert_eq!(copy.check_schema_not_newer().unwrap(), Some(before));
        }
        Backend::Postgres => assert!(report.contains("voices backup --to"), "{report}"),
    }
    assert_eq!(app.db.check_schema_not_newer().unwrap(), Some(newest));

    // Nothing to apply: no copy, no reminder.
    let out = on_app(&app, &["migrate"], &[]);
    assert!(out.status.success(), "{}", said(&out));
    assert_eq!(
        text(&out.stdout).lines().collect::<Vec<_>>(),
        [format!(
            "0 migration(s) applied to the {} database",
            database_backend(backend).name()
        )]
    );
}

async fn a_database_a_newer_version_migrated_is_refused(backend: Backend) {
    let Some(mut app) = spawn_on(backend, |_| {}).await else {
        return;
    };
    app.stop().await;
    app.db
        .write(|conn| {
            conn.batch_execute(
                "INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000000')",
            )
            .map_err(anyhow::Error::from)
        })
        .await
        .unwrap();
    let newest = voices::db::latest_migration(database_backend(backend)).unwrap();
    for command in ["serve", "migrate", "check"] {
        let out = on_app(&app, &[command], &[("VOICES_BIND", "127.0.0.1:0")]);
        assert!(!out.status.success(), "{command}: {}", said(&out));
        let said = said(&out);
        assert!(
            said.contains("schema is at migration 29991231000000, newer than this Voices knows")
                && said.contains(&format!("(its newest is {newest})")),
            "{command}: {said}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_asks_the_running_service() {
    let app = spawn_with(Backend::Sqlite, |_| {}).await;
    let data_dir = app.data_dir.path().to_string_lossy().to_string();
    let env = [("VOICES_DATA_DIR", data_dir.as_str())];
    let out = run_voices(&["probe", "--url", &app.url("/healthz")], "", &env);
    assert!(out.status.success(), "{}", said(&out));
    let out = run_voices(&["probe", "--url", &app.url("/no-such-page")], "", &env);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("404"), "{}", said(&out));
    let closed = format!("http://{}/readyz", Sink::free_address());
    let out = run_voices(&["probe", "--url", &closed], "", &env);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("connecting to"),
        "{}",
        said(&out)
    );
}
