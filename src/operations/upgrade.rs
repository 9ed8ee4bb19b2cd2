//! `voices migrate`: moving a database to this version's schema, with a way back. A SQLite file is
//! copied beside itself first (migrations cannot be undone); a PostgreSQL database is too big to copy
//! unasked, so the operator is reminded to back it up.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use crate::config::Settings;
use crate::db::{Backend, Db};
use crate::operations::backup;

/// Refuses a database a newer Voices has migrated, keeps a way back, applies the pending migrations,
/// and says what it did on `out`.
pub fn migrate(settings: &Settings, out: &mut dyn Write) -> anyhow::Result<()> {
    let db = Db::connect(&settings.database_url, 1)?;
    let backend = db.backend();
    let newest = crate::db::latest_migration(backend)?;
    // An empty database has nothing to lose, and one already at this version has nothing to apply.
    if let Some(at) = db.check_schema_not_newer()?.filter(|at| *at < newest) {
        match backend {
            Backend::Sqlite => {
                let copy = copy_beside(settings, &at)?;
                writeln!(
                    out,
                    "Copied the database, at migration {at}, to {} before migrating to {newest}. To go \
                     back, stop Voices, run the version you had, and point it at that copy.",
                    copy.display()
                )?;
            }
            Backend::Postgres => writeln!(
                out,
                "Migrating the PostgreSQL database from {at} to {newest}. Migrations cannot be undone, \
                 and this command copies no PostgreSQL database: the way back is a backup taken just \
                 before, with `voices backup --to FILE` (run it first next time if you have none)."
            )?,
        }
    }
    let applied = db.migrate()?;
    writeln!(
        out,
        "{applied} migration(s) applied to the {} database",
        backend.name()
    )?;
    Ok(())
}

/// A consistent, checked copy of the SQLite file in its own folder, named by the time and the schema it
/// holds (voices-20261207-140501-schema-20261207000022.db), so it is found where the database is.
fn copy_beside(settings: &Settings, at: &str) -> anyhow::Result<PathBuf> {
    let file = crate::db::sqlite_path(&settings.database_url)?;
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "voices".into());
    let name = format!(
        "{stem}-{}-schema-{at}.db",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    );
    let copy = file.with_file_name(name);
    backup::backup(settings, &copy, &backup::Sealing::None)
        .context("copying the database before migrating (nothing was migrated)")?;
    Ok(copy)
}
