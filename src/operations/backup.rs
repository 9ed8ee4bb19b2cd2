//! Backups an operator can trust: a consistent copy of the database taken while the service runs, a
//! check of any copy (integrity, schema version, what it holds), and a restore into a fresh folder.
//! SQLite is copied by SQLite itself (`VACUUM INTO`, a transaction-consistent snapshot that writers do
//! not wait for); PostgreSQL by `pg_dump`, PostgreSQL's own tool. A copy can be encrypted with age, to
//! a public key (so the server never holds what opens it) or a passphrase.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use crate::config::Settings;
use crate::db::schema::{
    answers, audit_events, consent_records, interviews, participants, responses, studies,
};
use crate::db::Backend;

/// What a copy holds, as checked.
#[derive(Debug)]
pub struct Report {
    /// The latest migration in the copy; it must be one this version of Voices knows.
    pub schema_version: String,
    /// Row counts of the tables that matter most, by name.
    pub counts: Vec<(&'static str, i64)>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "integrity: ok")?;
        writeln!(f, "schema version: {}", self.schema_version)?;
        for (table, count) in &self.counts {
            writeln!(f, "{table}: {count}")?;
        }
        Ok(())
    }
}

const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";
const PG_CUSTOM_HEADER: &[u8] = b"PGDMP";
const AGE_HEADER: &[u8] = b"age-encryption.org/v1";

/// How a backup is encrypted as it is written.
pub enum Sealing {
    None,
    /// To an age public key (`age1...`): only its private key opens the copy.
    Recipient(Box<age::x25519::Recipient>),
    Passphrase(age::secrecy::SecretString),
}

impl Sealing {
    /// An age public key as written (`age1...`), or None when it is empty.
    pub fn recipient(text: &str) -> anyhow::Result<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Sealing::None);
        }
        let recipient = text
            .parse::<age::x25519::Recipient>()
            .map_err(|problem| anyhow::anyhow!("{text:?} is not an age public key: {problem}"))?;
        Ok(Sealing::Recipient(Box::new(recipient)))
    }
}

/// What opens an encrypted backup: the private key file (as `age-keygen` writes it) or the passphrase.
pub enum Opening {
    None,
    IdentityFile(PathBuf),
    Passphrase(age::secrecy::SecretString),
}

/// Copies the configured database to `to` (which must not exist yet) and checks the copy; encrypted,
/// the plain copy is checked first, then encrypted into `to` and removed.
pub fn backup(settings: &Settings, to: &Path, sealing: &Sealing) -> anyhow::Result<Report> {
    if to.exists() {
        bail!("{} exists already: choose a new file name", to.display());
    }
    crate::security::create_files_privately();
    if matches!(sealing, Sealing::None) {
        return copy_database(settings, to);
    }
    let scratch = Scratch::new()?;
    let plain = scratch.file(to)?;
    let report = copy_database(settings, &plain)?;
    seal(&plain, to, sealing)?;
    crate::security::make_private(to)?;
    Ok(report)
}

fn copy_database(settings: &Settings, to: &Path) -> anyhow::Result<Report> {
    match crate::db::backend_of(&settings.database_url)? {
        Backend::Sqlite => {
            let from = crate::db::sqlite_path(&settings.database_url)?;
            let mut conn = SqliteConnection::establish(&from.to_string_lossy())
                .with_context(|| format!("opening {}", from.display()))?;
            conn.batch_execute("PRAGMA busy_timeout = 5000;")?;
            let target = to.to_string_lossy().replace('\'', "''");
            diesel::sql_query(format!("VACUUM INTO '{target}'"))
                .execute(&mut conn)
                .context("copying the database")?;
        }
        Backend::Postgres => {
            let status = Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(to)
                .arg(&settings.database_url)
                .status()
                .context(
                    "running pg_dump (install PostgreSQL's client tools, e.g. Debian's postgresql-client, \
                     matching the server's major version)",
                )?;
            if !status.success() {
                bail!("pg_dump failed ({status})");
            }
        }
    }
    crate::security::make_private(to)?;
    verify(to, &Opening::None)
}

fn seal(plain: &Path, to: &Path, sealing: &Sealing) -> anyhow::Result<()> {
    let encryptor = match sealing {
        Sealing::None => bail!("nothing to encrypt with"),
        Sealing::Recipient(recipient) => age::Encryptor::with_recipients(std::iter::once(
            recipient.as_ref() as &dyn age::Recipient,
        ))
        .context("preparing the encryption")?,
        Sealing::Passphrase(passphrase) => age::Encryptor::with_user_passphrase(passphrase.clone()),
    };
    let output = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)
        .with_context(|| format!("creating {}", to.display()))?;
    let mut writer = encryptor.wrap_output(std::io::BufWriter::new(output))?;
    std::io::copy(&mut std::fs::File::open(plain)?, &mut writer)?;
    use std::io::Write;
    writer.finish()?.flush()?;
    Ok(())
}

/// Decrypts an age file into `plain`.
fn open_sealed(file: &Path, plain: &Path, opening: &Opening) -> anyhow::Result<()> {
    let input = std::io::BufReader::new(std::fs::File::open(file)?);
    let decryptor = age::Decryptor::new(input).context("reading the encrypted backup's header")?;
    let mut reader = match opening {
        Opening::None => bail!(
            "{} is encrypted: give --identity KEYFILE (the private key) or --passphrase",
            file.display()
        ),
        Opening::IdentityFile(path) => {
            let identities = age::IdentityFile::from_file(path.to_string_lossy().to_string())
                .with_context(|| format!("reading the key file {}", path.display()))?
                .into_identities()
                .context("reading the keys in the key file")?;
            decryptor
                .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
                .context("this key does not open the backup")?
        }
        Opening::Passphrase(passphrase) => {
            let identity = age::scrypt::Identity::new(passphrase.clone());
            decryptor
                .decrypt(std::iter::once(&identity as &dyn age::Identity))
                .context("this passphrase does not open the backup")?
        }
    };
    let mut output = std::fs::File::create(plain)?;
    std::io::copy(&mut reader, &mut output).context("decrypting the backup")?;
    Ok(())
}

/// A private folder for plain copies on their way in or out of encryption, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Self> {
        let name = format!(
            "voices-backup-{}-{}",
            std::process::id(),
            hex::encode(crate::security::random_bytes::<8>())
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        crate::security::make_private(&dir)?;
        Ok(Scratch(dir))
    }

    fn file(&self, like: &Path) -> anyhow::Result<PathBuf> {
        Ok(self
            .0
            .join(like.file_name().context("the backup has no file name")?))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Checks a copy: that it is whole, that its schema is one this version knows, and what it holds.
/// An encrypted copy is decrypted into a private scratch folder to check, then removed.
pub fn verify(file: &Path, opening: &Opening) -> anyhow::Result<Report> {
    let header = read_header(file)?;
    if header.starts_with(AGE_HEADER) {
        let scratch = Scratch::new()?;
        let plain = scratch.file(file)?;
        open_sealed(file, &plain, opening)?;
        return verify(&plain, &Opening::None);
    }
    if header.starts_with(SQLITE_HEADER) {
        verify_sqlite(file)
    } else if header.starts_with(PG_CUSTOM_HEADER) {
        let listed = Command::new("pg_restore")
            .arg("--list")
            .arg(file)
            .output()
            .context("running pg_restore --list")?;
        if !listed.status.success() {
            bail!(
                "pg_restore cannot read {}: {}",
                file.display(),
                String::from_utf8_lossy(&listed.stderr).trim()
            );
        }
        let entries = String::from_utf8_lossy(&listed.stdout)
            .lines()
            .filter(|l| l.contains("TABLE DATA"))
            .count() as i64;
        Ok(Report {
            schema_version: "see pg_restore --list".into(),
            counts: vec![("tables with data", entries)],
        })
    } else {
        bail!(
            "{} is neither a Voices SQLite backup nor a pg_dump custom-format file",
            file.display()
        )
    }
}

fn read_header(file: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let mut header = vec![0u8; AGE_HEADER.len()];
    let read = std::fs::File::open(file)
        .with_context(|| format!("opening {}", file.display()))?
        .read(&mut header)?;
    header.truncate(read);
    Ok(header)
}

fn verify_sqlite(file: &Path) -> anyhow::Result<Report> {
    // A private copy to check: opening a database may write beside it (its journal), and the backup
    // itself must stay exactly as it was made.
    let scratch = Scratch::new()?;
    let copy = scratch.file(file)?;
    std::fs::copy(file, &copy)?;
    check_sqlite(&copy)
}

fn check_sqlite(file: &Path) -> anyhow::Result<Report> {
    #[derive(QueryableByName)]
    struct Check {
        #[diesel(sql_type = diesel::sql_types::Text)]
        integrity_check: String,
    }
    let mut conn = SqliteConnection::establish(&file.to_string_lossy())
        .with_context(|| format!("opening {}", file.display()))?;
    let checks: Vec<Check> = diesel::sql_query("PRAGMA integrity_check").load(&mut conn)?;
    let problems: Vec<String> = checks
        .into_iter()
        .map(|c| c.integrity_check)
        .filter(|c| c != "ok")
        .collect();
    if !problems.is_empty() {
        bail!("the copy is damaged: {}", problems.join("; "));
    }
    let schema_version: Option<String> =
        diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
            "SELECT MAX(version) FROM __diesel_schema_migrations",
        )
        .get_result(&mut conn)
        .context("the copy has no migration table: it is not a Voices database")?;
    let schema_version = schema_version.unwrap_or_default();
    let known = crate::db::latest_migration(Backend::Sqlite)?;
    if schema_version > known {
        bail!(
            "the copy was made by a newer Voices (schema {schema_version}; this one knows up to {known}): \
             restore it with that version"
        );
    }
    let counts = vec![
        ("studies", studies::table.count().get_result(&mut conn)?),
        (
            "participants",
            participants::table.count().get_result(&mut conn)?,
        ),
        (
            "consent records",
            consent_records::table.count().get_result(&mut conn)?,
        ),
        ("responses", responses::table.count().get_result(&mut conn)?),
        ("answers", answers::table.count().get_result(&mut conn)?),
        (
            "interviews",
            interviews::table.count().get_result(&mut conn)?,
        ),
        (
            "audit events",
            audit_events::table.count().get_result(&mut conn)?,
        ),
    ];
    Ok(Report {
        schema_version,
        counts,
    })
}

/// Restores a SQLite backup as `into/voices.db` (the folder is made; the file must not exist), after
/// checking it. Point `VOICES_DATA_DIR` (or `VOICES_DATABASE_URL`) at the folder to run on it.
pub fn restore(from: &Path, into: &Path, opening: &Opening) -> anyhow::Result<(PathBuf, Report)> {
    crate::security::create_files_privately();
    let scratch = Scratch::new()?;
    let from = if read_header(from)?.starts_with(AGE_HEADER) {
        let plain = scratch.file(from)?;
        open_sealed(from, &plain, opening)?;
        plain
    } else {
        from.to_path_buf()
    };
    if read_header(&from)?.starts_with(PG_CUSTOM_HEADER) {
        bail!(
            "this is a PostgreSQL dump: restore it into an empty database with \
             `pg_restore --no-owner --dbname=postgres://... FILE` (decrypted first with age if it is \
             encrypted), then point VOICES_DATABASE_URL at it"
        );
    }
    let report = verify(&from, &Opening::None)?;
    std::fs::create_dir_all(into).with_context(|| format!("creating {}", into.display()))?;
    crate::security::make_private(into)?;
    let target = into.join("voices.db");
    if target.exists() {
        bail!(
            "{} exists already: restore into an empty folder",
            target.display()
        );
    }
    std::fs::copy(&from, &target).with_context(|| format!("writing {}", target.display()))?;
    crate::security::make_private(&target)?;
    Ok((target, report))
}

/// The backups the service takes by itself: every `backup.every_hours`, counted from the newest one in
/// the folder (so restarts neither skip nor crowd them), until the app stops.
pub fn start_schedule(
    settings: std::sync::Arc<Settings>,
    db: crate::db::Db,
    mut stop: tokio::sync::watch::Receiver<()>,
) -> Option<tokio::task::JoinHandle<()>> {
    let every = settings.backup.every_hours;
    if every == 0 {
        return None;
    }
    let every = std::time::Duration::from_secs(every * 3600);
    Some(tokio::spawn(async move {
        loop {
            let folder = settings.backup.folder(&settings.data_dir);
            let wait = newest_backup(&folder)
                .and_then(|taken| taken.elapsed().ok())
                .map_or(std::time::Duration::ZERO, |age| every.saturating_sub(age));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                changed = stop.changed() => if changed.is_err() { break },
            }
            let taking = settings.clone();
            let taken = tokio::task::spawn_blocking(move || take_scheduled(&taking))
                .await
                .map_err(anyhow::Error::from)
                .and_then(|taken| taken);
            record_scheduled(&db, taken).await;
        }
    }))
}

/// Takes one backup into the backup folder, named by the time, then deletes the oldest ones Voices
/// made there beyond `backup.keep`. Returns the new file's name and what it holds.
pub fn take_scheduled(settings: &Settings) -> anyhow::Result<(String, Report)> {
    crate::security::create_files_privately();
    let folder = settings.backup.folder(&settings.data_dir);
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    crate::security::make_private(&folder)?;
    let sealing = Sealing::recipient(&settings.backup.recipient)?;
    let kind = match crate::db::backend_of(&settings.database_url)? {
        Backend::Sqlite => "db",
        Backend::Postgres => "pgdump",
    };
    let sealed = if matches!(sealing, Sealing::None) {
        ""
    } else {
        ".age"
    };
    let name = format!(
        "{SCHEDULED_PREFIX}{}.{kind}{sealed}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    );
    let report = backup(settings, &folder.join(&name), &sealing)?;
    prune(&folder, settings.backup.keep.max(1))?;
    Ok((name, report))
}

const SCHEDULED_PREFIX: &str = "voices-backup-";

/// The backups Voices made in `folder`, oldest first (their names sort by time).
fn scheduled_backups(folder: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(SCHEDULED_PREFIX))
        })
        .collect();
    found.sort();
    found
}

fn newest_backup(folder: &Path) -> Option<std::time::SystemTime> {
    let newest = scheduled_backups(folder).pop()?;
    std::fs::metadata(newest).and_then(|m| m.modified()).ok()
}

fn prune(folder: &Path, keep: usize) -> anyhow::Result<()> {
    let found = scheduled_backups(folder);
    let extra = found.len().saturating_sub(keep);
    for old in &found[..extra] {
        std::fs::remove_file(old).with_context(|| format!("deleting {}", old.display()))?;
    }
    Ok(())
}

/// Each scheduled backup, taken or failed, goes in the audit log (and a failure in the log too).
async fn record_scheduled(db: &crate::db::Db, taken: anyhow::Result<(String, Report)>) {
    let (action, details) = match taken {
        Ok((file, report)) => {
            tracing::info!(file = %file, "scheduled backup taken");
            let counts: serde_json::Map<String, serde_json::Value> = report
                .counts
                .iter()
                .map(|(table, count)| (table.to_string(), (*count).into()))
                .collect();
            (
                "backup_taken",
                serde_json::json!({ "file": file, "schema_version": report.schema_version, "counts": counts }),
            )
        }
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "scheduled backup failed");
            (
                "backup_failed",
                serde_json::json!({ "error": format!("{error:#}") }),
            )
        }
    };
    let recorded = db
        .write(move |conn| {
            crate::audit::record(
                conn,
                &crate::audit::Origin::system(),
                action,
                "site",
                None,
                details,
            )
            .map_err(crate::error::AppError::from)
        })
        .await;
    if let Err(error) = recorded {
        tracing::warn!(%error, "could not record the scheduled backup in the audit log");
    }
}
