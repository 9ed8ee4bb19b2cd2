//! Backups an operator can trust: a consistent copy of the database taken while the service runs, a
//! check of any copy (integrity, schema version, what it holds), and a restore into a fresh folder.
//! SQLite is copied by SQLite itself (`VACUUM INTO`, a transaction-consistent snapshot that writers do
//! not wait for); PostgreSQL by `pg_dump`, PostgreSQL's own tool.

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

/// Copies the configured database to `to` (which must not exist yet) and checks the copy.
pub fn backup(settings: &Settings, to: &Path) -> anyhow::Result<Report> {
    if to.exists() {
        bail!("{} exists already: choose a new file name", to.display());
    }
    crate::security::create_files_privately();
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
    verify(to)
}

/// Checks a copy: that it is whole, that its schema is one this version knows, and what it holds.
pub fn verify(file: &Path) -> anyhow::Result<Report> {
    let header = read_header(file)?;
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
    let mut header = vec![0u8; 16];
    let read = std::fs::File::open(file)
        .with_context(|| format!("opening {}", file.display()))?
        .read(&mut header)?;
    header.truncate(read);
    Ok(header)
}

fn verify_sqlite(file: &Path) -> anyhow::Result<Report> {
    // A private copy to check: opening a database may write beside it (its journal), and the backup
    // itself must stay exactly as it was made.
    let scratch = tempfile_beside(file)?;
    std::fs::copy(file, &scratch)?;
    let checked = check_sqlite(&scratch);
    let _ = std::fs::remove_file(&scratch);
    checked
}

fn tempfile_beside(file: &Path) -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("voices-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let name = file.file_name().context("the backup has no file name")?;
    Ok(dir.join(name))
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
pub fn restore(from: &Path, into: &Path) -> anyhow::Result<(PathBuf, Report)> {
    if read_header(from)?.starts_with(PG_CUSTOM_HEADER) {
        bail!(
            "{} is a PostgreSQL dump: restore it into an empty database with \
             `pg_restore --no-owner --dbname=postgres://... {}`, then point VOICES_DATABASE_URL at it",
            from.display(),
            from.display()
        );
    }
    let report = verify(from)?;
    crate::security::create_files_privately();
    std::fs::create_dir_all(into).with_context(|| format!("creating {}", into.display()))?;
    crate::security::make_private(into)?;
    let target = into.join("voices.db");
    if target.exists() {
        bail!(
            "{} exists already: restore into an empty folder",
            target.display()
        );
    }
    std::fs::copy(from, &target).with_context(|| format!("writing {}", target.display()))?;
    crate::security::make_private(&target)?;
    Ok((target, report))
}
