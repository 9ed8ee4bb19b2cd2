//! The `voices` command line, run as a real process.

use std::io::Write;
use std::process::{Command, Output, Stdio};

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
