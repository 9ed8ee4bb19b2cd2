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
    /// Print the first-run address, where the first administrator is made in the browser (it works
    /// only while nobody has an account).
    SetupLink,
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
        Command::SetupLink => {
            let db = migrated(&settings)?;
            if actions::has_accounts(&db).await.map_err(describe)? {
                bail!(
                    "Voices is set up already: someone has an account. Sign in at {}/login",
                    settings.base_url
                );
            }
            println!("{}", voices::accounts::setup::first_run_url(&settings)?);
            Ok(())
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
    if !actions::has_accounts(&state.db).await.map_err(describe)? {
        // The address holds a secret, but it opens nothing once the first account exists.
        let url = voices::accounts::setup::first_run_url(&state.settings)?;
        tracing::info!(
            "First run: nobody has an account yet. Open {url} to create the first administrator."
        );
    }
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
        release_start_up_pages();
    });
}

/// Hands back the pages of the binary's own code and read-only data that start-up touched: migrations,
/// the template compiler, building each worker's routes, reading the configuration. The kernel maps
/// each page a process touches together with its neighbours, and keeps them in the process's resident
/// memory until memory runs short; afterwards serving maps again, from the page cache and without
/// reading the disk, only the code it runs (BENCHMARKS.md, "Idle memory"). As Linux frees its own
/// start-up code after boot. Only mappings the process never wrote to are released: the pages the
/// loader relocated are private copies and stay.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_start_up_pages() {
    let (Ok(exe), Ok(smaps)) = (
        std::fs::read_link("/proc/self/exe"),
        std::fs::read_to_string("/proc/self/smaps"),
    ) else {
        return;
    };
    for range in unwritten_mappings_of(&smaps, &exe.to_string_lossy()) {
        // SAFETY: the range is a whole mapping of the executable's file holding no page of the
        // process's own (none private, none dirty): dropping its page table entries only means the next
        // access maps the same file's page again. madvise touches no memory itself.
        unsafe {
            libc::madvise(
                range.start as *mut libc::c_void,
                range.len(),
                libc::MADV_DONTNEED,
            );
        }
    }
}

/// The address ranges that `smaps` (the text of `/proc/<pid>/smaps`) shows mapping the file at `path`
/// without write permission and with no anonymous or privately dirtied page.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
fn unwritten_mappings_of(smaps: &str, path: &str) -> Vec<std::ops::Range<usize>> {
    let mut found = Vec::new();
    // The mapping being read, while none of its pages is the process's own.
    let mut current: Option<std::ops::Range<usize>> = None;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = fields.first() else {
            continue;
        };
        if first.ends_with(':') {
            let own_pages = matches!(*first, "Anonymous:" | "Private_Dirty:")
                && fields.get(1).is_some_and(|kib| *kib != "0");
            if own_pages {
                current = None;
            }
            continue;
        }
        // A mapping's first line: "start-end perms offset device inode path".
        found.extend(current.take());
        let range = first.split_once('-').and_then(|(start, end)| {
            Some(usize::from_str_radix(start, 16).ok()?..usize::from_str_radix(end, 16).ok()?)
        });
        let read_only = fields.get(1).is_some_and(|perms| !perms.contains('w'));
        if read_only && fields.len() == 6 && fields[5] == path {
            current = range;
        }
    }
    found.extend(current);
    found
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

#[cfg(test)]
mod tests {
    const SMAPS: &str = "\
5600aa000000-5600aa200000 r--p 00000000 fd:01 42 /opt/voices
Size:               2048 kB
Anonymous:             0 kB
Private_Dirty:         0 kB
VmFlags: rd mr mw me
5600aa200000-5600ab000000 r-xp 00200000 fd:01 42 /opt/voices
Private_Dirty:         0 kB
Anonymous:             0 kB
5600ab000000-5600ab100000 r--p 01000000 fd:01 42 /opt/voices
Private_Dirty:       512 kB
Anonymous:           512 kB
5600ab100000-5600ab200000 rw-p 01100000 fd:01 42 /opt/voices
Private_Dirty:         0 kB
7f0000000000-7f0000100000 r-xp 00000000 fd:01 77 /usr/lib/libc.so.6
Private_Dirty:         0 kB
7f0000200000-7f0000300000 r--p 00000000 fd:01 43 /opt/voices-old
Private_Dirty:         0 kB
";

    #[test]
    fn only_the_executables_unwritten_mappings_are_released() {
        assert_eq!(
            super::unwritten_mappings_of(SMAPS, "/opt/voices"),
            vec![
                0x5600aa000000..0x5600aa200000,
                0x5600aa200000..0x5600ab000000
            ]
        );
    }

    #[test]
    fn releasing_freed_memory_is_harmless() {
        let kept = vec![1u8; 1 << 20];
        drop(vec![0u8; 8 << 20]);
        super::release_freed_memory();
        // This test's own code and data, released while it runs, come back as they are used.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        super::release_start_up_pages();
        assert_eq!(kept.iter().map(|b| *b as usize).sum::<usize>(), 1 << 20);
    }
}
