//! The real `voices` binary run by a load driver: its own data directory and port, its command line,
//! health, and memory.

use std::future::Future;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tempfile::TempDir;

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

pub enum Database {
    /// A file in the server's own temporary data directory.
    Sqlite,
    /// The URL of a database created for this run.
    Postgres(String),
}

/// A running `voices` process with its own data directory; killed when dropped, also on panic.
pub struct Server {
    pub child: Child,
    pub port: u16,
    database_url: String,
    /// The `VOICES_...` settings this server was started with, beyond the drivers' own.
    settings: Vec<(String, String)>,
    // Removed after the process is killed: fields drop after `Drop::drop` has run.
    data_dir: TempDir,
}

impl Server {
    pub fn start(database: &Database) -> anyhow::Result<Self> {
        Self::start_with(database, &[])
    }

    /// `start`, with settings of its own for this server (`VOICES_...` variables).
    pub fn start_with(database: &Database, settings: &[(&str, &str)]) -> anyhow::Result<Self> {
        let data_dir =
            TempDir::with_prefix("voices-bench-").context("creating a data directory")?;
        // Ask the OS for a free port and release it for the server; another process could take it in
        // between, but then the server fails to bind and start-up reports it.
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let database_url = match database {
            Database::Sqlite => format!("sqlite://{}", data_dir.path().join("voices.db").display()),
            Database::Postgres(url) => url.clone(),
        };
        let settings: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let child = spawn(
            BINARY.as_ref(),
            data_dir.path(),
            port,
            &database_url,
            &settings,
        )?;
        Ok(Server {
            child,
            port,
            database_url,
            settings,
            data_dir,
        })
    }

    // Only the drivers that compare two builds use it.
    #[allow(dead_code)]
    /// Stops the process and starts `binary` (another build of voices) in its place, on the same data
    /// directory, database and port: its memory figures count from its own start.
    pub fn restart(&mut self, binary: &Path) -> anyhow::Result<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(
            binary,
            self.data_dir.path(),
            self.port,
            &self.database_url,
            &self.settings,
        )?;
        Ok(())
    }

    /// Runs a `voices` command-line command against the running server's database and returns what it
    /// printed, as an operator would set the service up.
    pub fn cli(&self, args: &[&str], input: &str) -> anyhow::Result<String> {
        printed(args, self.run(args, input)?)
    }

    fn run(&self, args: &[&str], input: &str) -> anyhow::Result<Output> {
        let mut child = voices_command(
            BINARY.as_ref(),
            self.data_dir.path(),
            self.port,
            &self.database_url,
        )
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting voices {}", args[0]))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin.write_all(input.as_bytes())?;
        }
        Ok(child.wait_with_output()?)
    }

    /// An administrator account made on the command line (`create-admin`), and the JSON API as them.
    pub fn admin(
        &self,
        email: &str,
        name: &str,
        password: &str,
        timeout: Duration,
    ) -> anyhow::Result<Api> {
        let args = ["create-admin", "--email", email, "--name", name];
        self.cli(&args, &format!("{password}\n"))?;
        self.api(email, "load driver", timeout)
    }

    /// The JSON API as this (existing) user, with a token made on the command line.
    pub fn api(&self, email: &str, name: &str, timeout: Duration) -> anyhow::Result<Api> {
        let args = ["create-api-token", "--email", email, "--name", name];
        let mut output = self.run(&args, "")?;
        // On PostgreSQL the command now and then dies of SIGSEGV while exiting (BENCHMARKS.md, interview
        // note saves): another token is as good, so it is tried twice more before giving up.
        for _ in 0..2 {
            if output.status.signal() != Some(libc::SIGSEGV) {
                break;
            }
            eprintln!(
                "warning: voices create-api-token crashed ({}); making another token",
                output.status
            );
            output = self.run(&args, "")?;
        }
        let token = printed(&args, output)?
            .lines()
            .map(str::trim)
            .find(|line| line.starts_with("vt_"))
            .context("create-api-token printed no token")?
            .to_string();
        Ok(Api {
            client: reqwest::Client::builder().timeout(timeout).build()?,
            base: self.url("/api/v1"),
            token,
        })
    }

    /// The database the server uses, for drivers that seed it directly (the analysis driver).
    #[allow(dead_code)]
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Fails if the process has exited: a crash must not pass for a slow run.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait()? {
            Some(status) => bail!("the server exited ({status})"),
            None => Ok(()),
        }
    }

    pub async fn wait_until_healthy(&mut self) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let url = self.url("/healthz");
        loop {
            self.ensure_running().context("during start-up")?;
            if let Ok(response) = client.get(&url).send().await {
                if response.status() == StatusCode::OK {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("GET /healthz did not answer 200 within {STARTUP_TIMEOUT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A memory figure of the process in KiB: `VmRSS` (now) or `VmHWM` (peak).
    pub fn status_kib(&self, field: &str) -> anyhow::Result<u64> {
        status_kib(self.child.id(), field)
    }
}

/// A memory figure of any process in KiB from /proc/<pid>/status (the respond driver's baseline server
/// is not a `voices` process).
pub fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} line in {path}"))
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `measure` on SQLite, then on a scratch PostgreSQL database (`shared::postgres_scratch`), and
/// returns the reports, with the reason when the PostgreSQL run was skipped.
pub async fn on_both_databases<R, F, Fut>(
    mut measure: F,
) -> anyhow::Result<(Vec<R>, Option<String>)>
where
    F: FnMut(&'static str, Database) -> Fut,
    Fut: Future<Output = anyhow::Result<R>>,
{
    let mut reports = vec![measure("sqlite", Database::Sqlite).await?];
    match crate::shared::postgres_scratch()? {
        // `scratch` outlives the server started inside `measure`, so the server is gone before the
        // database is dropped.
        Ok(scratch) => {
            let database = Database::Postgres(scratch.url.clone());
            reports.push(measure("postgres", database).await?);
            Ok((reports, None))
        }
        Err(skipped) => Ok((reports, Some(skipped))),
    }
}

/// What a command printed, if it succeeded.
fn printed(args: &[&str], output: Output) -> anyhow::Result<String> {
    if !output.status.success() {
        bail!("voices {} failed ({})", args[0], output.status);
    }
    Ok(String::from_utf8(output.stdout)?)
}

/// The `voices` binary built with the driver.
pub const BINARY: &str = env!("CARGO_BIN_EXE_voices");

fn spawn(
    binary: &Path,
    data_dir: &Path,
    port: u16,
    database_url: &str,
    settings: &[(String, String)],
) -> anyhow::Result<Child> {
    let mut command = voices_command(binary, data_dir, port, database_url);
    command
        .envs(settings.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        // The server logs to stdout; send that to our stderr so stdout holds only the tables.
        .stdout(std::io::stderr())
        .stderr(Stdio::inherit());
    command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))
}

/// A `voices` binary with the settings the drivers give it, for the server and for CLI commands.
fn voices_command(binary: &Path, data_dir: &Path, port: u16, database_url: &str) -> Command {
    let mut command = Command::new(binary);
    command
        // Outside the repository, so a developer's config/local.toml cannot change what is measured.
        .current_dir(data_dir)
        .env("VOICES_BIND", format!("127.0.0.1:{port}"))
        .env("VOICES_DATA_DIR", data_dir)
        .env("VOICES_DATABASE_URL", database_url)
        // The simulated staff sign in with passwords; an authenticator app is not part of what is measured.
        .env("VOICES_SECOND_FACTOR__REQUIRED_FOR", "nobody")
        // Every simulated participant joins from 127.0.0.1: the per-address join limit is for floods.
        .env("VOICES_LINKS__JOINS_PER_IP", "1000000")
        // Logging every request would measure the terminal, not the service.
        .env("VOICES_LOG", "warn");
    // The bench's own settings would otherwise reach the server as unknown configuration keys.
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("VOICES_BENCH_") {
            command.env_remove(name);
        }
    }
    command
}

/// The JSON API with a bearer token.
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    /// The answer's JSON; any status but a success is an error with the answer's text.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let (status, text) = self.request(method.clone(), path, body).await?;
        if !status.is_success() {
            bail!("{method} /api/v1{path} answered {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// A GET's status and body as bytes, read to the end.
    // Only the drivers that download files use it.
    #[allow(dead_code)]
    pub async fn download(&self, path: &str) -> anyhow::Result<(StatusCode, Vec<u8>)> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("GET /api/v1{path}"))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("GET /api/v1{path}: the body"))?;
        Ok((status, body.to_vec()))
    }

    /// The answer's status and text, whatever the status (the whole body is read, freeing the
    /// keep-alive connection for the next request).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(StatusCode, String)> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} /api/v1{path}"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("{method} /api/v1{path}"))?;
        Ok((status, text))
    }
}
