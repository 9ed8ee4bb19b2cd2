//! Idle memory: starts the `voices` binary built with this driver (release profile) with its default
//! settings, as `cargo run --release` does (a fresh directory as the working directory, so the SQLite
//! database and the development secret key go to its `data/`, and no `config/local.toml` applies),
//! and reads its resident memory 5 s after the start from `/proc/<pid>/status` (VmRSS), with the split
//! `/proc/<pid>/smaps_rollup` gives: anonymous memory (heap, stacks) and file-backed pages (the
//! binary's code and data as far as it has been touched).
//!
//! The requirement: under 30 MB. Run with `cargo bench --bench memory`. Environment:
//! - `VOICES_BENCH_RUNS` (default 3): starts, each measured;
//! - `VOICES_BENCH_BEFORE=<path to another voices binary>`: measures that build too, first;
//! - `VOICES_BENCH_SERVER=<path>`: measures that binary instead of the one built with the driver;
//! - `VOICES_BENCH_AFTER_SECONDS` (default 5).
//!
//! Other `VOICES_*` variables reach the server, e.g. `VOICES_WORKERS=8` for a bigger machine's workers.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

const REQUIREMENT_MB: f64 = 30.0;

struct Figures {
    rss_kib: u64,
    anonymous_kib: u64,
    file_kib: u64,
}

fn main() -> anyhow::Result<()> {
    let runs = env_number("VOICES_BENCH_RUNS", 3)?.max(1);
    let wait = Duration::from_secs(env_number("VOICES_BENCH_AFTER_SECONDS", 5)?);
    let mut builds: Vec<(&str, PathBuf)> = Vec::new();
    if let Some(before) = std::env::var_os("VOICES_BENCH_BEFORE") {
        builds.push(("before", before.into()));
    }
    let current = std::env::var_os("VOICES_BENCH_SERVER")
        .map_or_else(|| env!("CARGO_BIN_EXE_voices").into(), PathBuf::from);
    builds.push(("after", current));
    println!(
        "Idle resident memory {} s after start, default settings, {} core(s):\n",
        wait.as_secs(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| build | run | VmRSS MiB | MB | anonymous MiB | file-backed MiB | under 30 MB |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for (build, binary) in &builds {
        for run in 1..=runs {
            let f = idle(binary, wait)?;
            let mb = f.rss_kib as f64 * 1024.0 / 1e6;
            println!(
                "| {build} | {run} | {:.1} | {mb:.1} | {:.1} | {:.1} | {} |",
                f.rss_kib as f64 / 1024.0,
                f.anonymous_kib as f64 / 1024.0,
                f.file_kib as f64 / 1024.0,
                if mb < REQUIREMENT_MB { "yes" } else { "**no**" }
            );
        }
    }
    Ok(())
}

fn env_number(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .with_context(|| format!("{name} must be a whole number")),
        Err(_) => Ok(default),
    }
}

/// One start of `binary` in a fresh directory, measured after `wait`, then stopped.
fn idle(binary: &Path, wait: Duration) -> anyhow::Result<Figures> {
    let dir = tempfile::TempDir::with_prefix("voices-memory-")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut command = Command::new(binary);
    command
        .current_dir(dir.path())
        .env("VOICES_BIND", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VOICES_BENCH_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    std::thread::sleep(wait);
    let pid = child.id();
    let figures = (|| {
        if child.try_wait()?.is_some() {
            bail!("{} stopped before it was measured", binary.display());
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))?;
        let kib = |text: &str, field: &str| -> anyhow::Result<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .with_context(|| format!("no {field} in /proc/{pid}"))
        };
        let rss_kib = kib(&status, "VmRSS")?;
        let anonymous_kib = kib(&rollup, "Anonymous")?;
        Ok(Figures {
            rss_kib,
            anonymous_kib,
            file_kib: kib(&status, "RssFile")?,
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    figures
}
