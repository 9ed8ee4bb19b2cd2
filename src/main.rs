//! The `voices` command: serve the web service, check its settings, migrate the database, create
//! accounts and tokens, back up and restore.

use std::io::{BufRead, IsTerminal};
use std::net::TcpListener;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use voices::accounts::{actions, forms};
use voices::app::{build_state, run};
use voices::audit::Origin;
use voices::config::Settings;
use voices::db::Db;
use voices::identity::Role;
use voices::operations::{backup, check, upgrade};

#[derive(Parser)]
#[command(
    name = "voices",
    version,
    about = "Voices: co-designed surveys and semi-structured interviews.",
    long_about = "Voices: co-designed surveys and semi-structured interviews.\n\n\
        Settings come from config/default.toml (built in), then config/local.toml, then VOICES_* environment \
        variables such as VOICES_DATABASE_URL=postgres://... or VOICES_BIND=0.0.0.0:8080."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web service (the default).
    Serve,
    /// Apply pending database migrations and exit (a SQLite file is copied beside itself first).
    Migrate,
    /// Check the settings and what they point at (database, mail server, data folder) without
    /// starting; exits non-zero if anything fails.
    Check,
    /// Ask the running service whether it is ready to serve (GET /readyz), for a container's health
    /// check; exits non-zero if not.
    Probe {
        /// What to ask; by default /readyz on the port the service listens on (`bind`).
        #[arg(long)]
        url: Option<String>,
    },
    /// Create an administrator account; the password is read from standard input.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
    /// Create a personal access token for an account and print it (it is shown only this once).
    CreateApiToken {
        #[arg(long)]
        email: String,
        /// What the token is for.
        #[arg(long)]
        name: String,
    },
    /// Copy the database to a new file while the service runs (SQLite: a consistent snapshot;
    /// PostgreSQL: pg_dump's custom format), then check the copy. Or, with --verify, check a copy.
    Backup {
        /// The new file to write.
        #[arg(long, conflicts_with = "verify", required_unless_present = "verify")]
        to: Option<std::path::PathBuf>,
        /// A backup to check: whole, a schema this version knows, and what it holds.
        #[arg(long)]
        verify: Option<std::path::PathBuf>,
        /// Encrypt the copy to this age public key (age1...); the setting backup.recipient by default.
        #[arg(long, conflicts_with_all = ["verify", "passphrase"])]
        recipient: Option<String>,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Restore a SQLite backup into a new folder, as its voices.db, after checking it.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
        #[arg(long)]
        into: std::path::PathBuf,
        #[command(flatten)]
        key: KeyArgs,
    },
}

/// What encrypts a new backup (a passphrase) or opens an encrypted one (the key file or passphrase).
#[derive(clap::Args)]
struct KeyArgs {
    /// The age private key file (as age-keygen writes it) that opens an encrypted backup.
    #[arg(long, conflicts_with = "passphrase")]
    identity: Option<std::path::PathBuf>,
    /// Encrypt, or open, with a passphrase read from standard input.
    #[arg(long)]
    passphrase: bool,
}

impl KeyArgs {
    fn opening(&self) -> anyhow::Result<backup::Opening> {
        Ok(match (&self.identity, self.passphrase) {
            (Some(file), _) => backup::Opening::IdentityFile(file.clone()),
            (None, true) => backup::Opening::Passphrase(read_passphrase()?),
            (None, false) => backup::Opening::None,
        })
    }
}

fn read_passphrase() -> anyhow::Result<age::secrecy::SecretString> {
    let passphrase = read_secret("passphrase")?;
    if passphrase.chars().count() < 12 {
        bail!("use a passphrase of at least 12 characters");
    }
    Ok(passphrase.into())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VOICES_LOG")
        .unwrap_or_else(|_| "info,actix_server=warn".into());
    // Colour codes only for a person at a terminal: in a pipe, a file or a log collector they are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stdout().is_terminal());
    if std::env::var("VOICES_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

#[actix_web::main]
async fn main() {
    voices::security::install_crypto_provider();
    init_logging();
    let cli = Cli::parse();
    if let Err(error) = execute(cli.command.unwrap_or(Command::Serve)).await {
        eprintln!("voices: {error:#}");
        std::process::exit(1);
    }
}

async fn execute(command: Command) -> anyhow::Result<()> {
    let settings = match Settings::load() {
        Ok(settings) => settings,
        // The check reads the settings itself and reports what is wrong with them among the rest.
        Err(_) if matches!(command, Command::Check) => return check().await,
        Err(error) => return Err(error),
    };
    match command {
        Command::Serve => serve(settings).await,
        Command::Check => check().await,
        Command::Migrate => upgrade::migrate(&settings, &mut std::io::stdout()),
        Command::Probe { url } => {
            check::probe(&url.unwrap_or_else(|| check::readiness_url(&settings.bind)))
        }
        Command::CreateAdmin { email, name } => {
            let password = read_secret("password")?;
            if let Err(rule) = forms::check_password(&password) {
                bail!("{rule}");
            }
            let db = migrated(&settings)?;
            let id = actions::create_user(
                &db,
                &Origin::command_line(),
                &email,
                &name,
                Role::Admin,
                password,
            )
            .await
            .map_err(describe)?;
            println!(
                "Administrator account {id} created. Sign in at {}/login",
                settings.base_url
            );
            Ok(())
        }
        Command::Backup {
            to: Some(to),
            recipient,
            key,
            ..
        } => {
            let sealing = if key.passphrase {
                backup::Sealing::Passphrase(read_passphrase()?)
            } else {
                backup::Sealing::recipient(
                    recipient.as_deref().unwrap_or(&settings.backup.recipient),
                )?
            };
            let report = backup::backup(&settings, &to, &sealing)?;
            print!("Backed up to {}\n{report}", to.display());
            Ok(())
        }
        Command::Backup {
            verify: Some(file),
            key,
            ..
        } => {
            let report = backup::verify(&file, &key.opening()?)?;
            print!("{} is a good backup\n{report}", file.display());
            Ok(())
        }
        Command::Backup { .. } => {
            bail!("say --to FILE to make a backup, or --verify FILE to check one")
        }
        Command::Restore { from, into, key } => {
            let (target, report) = backup::restore(&from, &into, &key.opening()?)?;
            print!(
                "Restored to {}\n{report}Run Voices on it with VOICES_DATABASE_URL=sqlite://{}\n",
                target.display(),
                target.display()
            );
            Ok(())
        }
        Command::CreateApiToken { email, name } => {
            let db = migrated(&settings)?;
            let user = actions::user_by_email(&db, &email)
                .await
                .map_err(describe)?
                .context("no account has that email address")?;
            let (_, secret) =
                actions::create_api_token(&db, &Origin::command_line(), user.id, &name)
                    .await
                    .map_err(describe)?;
            println!("{secret}");
            Ok(())
        }
    }
}

async fn check() -> anyhow::Result<()> {
    let report = check::run().await;
    print!("{report}");
    if !report.passed() {
        bail!(
            "{} of {} checks failed",
            report.failed(),
            report.checks.len()
        );
    }
    Ok(())
}

/// One connection for a command: with more, the pool may still be opening a spare (TLS to
/// PostgreSQL) on its own thread while the process exits, and the bundled OpenSSL, torn down under
/// it, crashed `create-api-token` about once in a hundred runs.
fn migrated(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::connect(&settings.database_url, 1)?;
    db.migrate()?;
    Ok(db)
}

fn describe(error: voices::error::AppError) -> anyhow::Error {
    match error.fields() {
        Some(fields) => anyhow::anyhow!(fields.values().cloned().collect::<Vec<_>>().join("; ")),
        None => anyhow::anyhow!("{error}: {:?}", std::error::Error::source(&error)),
    }
}

/// A password or passphrase (`what`) from standard input: typed, or piped in by a script.
fn read_secret(what: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        eprintln!(
            "Type the {what} (at least 12 characters; it will be visible), then press Enter:"
        );
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .with_context(|| format!("reading the {what} from standard input"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let bind = settings.bind.clone();
    let base_url = settings.base_url.clone();
    let state = build_state(settings)?;
    let backend = state.db.backend().name();
    let listener = TcpListener::bind(&bind).with_context(|| format!("binding {bind}"))?;
    tracing::info!(%bind, database = backend, "Voices is running at {base_url}");
    let outbox_finished = state.outbox.finished();
    let server = run(listener, state)?;
    release_freed_memory();
    server.await.context("serving")?;
    // Sends already under way finish and are recorded; whatever is still out after this is claimed
    // again once its lease runs out, with the same Message-ID.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), outbox_finished.wait()).await;
    Ok(())
}

/// Keeps the heap small. glibc gives busy threads their own arenas (up to eight per core) and keeps what
/// they free for reuse: after a burst of concurrent requests spread over many blocking threads the
/// server would hold on to it for good. One arena per core bounds that. Start-up (migrations, templates,
/// each worker's route tables) frees much of what it allocates; the trim hands it back once the workers,
/// which build their apps on their own threads after `run` returns, are done.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    // SAFETY: mallopt and malloc_trim only tune and return free heap pages; no live allocation is touched.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, i32::try_from(cores).unwrap_or(i32::MAX));
    }
    std::thread::spawn(|| {
        std::thread::sleep(std::time::Duration::from_secs(2));
        unsafe {
            libc::malloc_trim(0);
        }
    });
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

#[cfg(test)]
mod tests {
    #[test]
    fn releasing_freed_memory_is_harmless() {
        let kept = vec![1u8; 1 << 20];
        drop(vec![0u8; 8 << 20]);
        super::release_freed_memory();
        assert_eq!(kept.iter().map(|b| *b as usize).sum::<usize>(), 1 << 20);
    }
}
