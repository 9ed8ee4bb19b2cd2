//! Connections, the pool, per-connection settings and migrations: the one place that knows there are two
//! databases. Everything above talks to `DbConnection` and never matches on the backend.

pub mod schema;
pub mod utc;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Where to connect, decided from the URL scheme alone: a typo is an error, never an empty SQLite file.
#[derive(Debug, Clone)]
enum Target {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Target {
    fn parse(url: &str) -> anyhow::Result<Self> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path.contains(":memory:") {
                bail!("the SQLite database needs a file path, e.g. sqlite://data/voices.db (an in-memory database cannot be shared by a pool)");
            }
            Ok(Target::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Target::Postgres(url.to_string()))
        } else {
            bail!("the database URL must start with sqlite:// or postgres://")
        }
    }

    fn backend(&self) -> Backend {
        match self {
            Target::Sqlite(_) => Backend::Sqlite,
            Target::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Which database a URL names, checked as the service checks it.
pub fn backend_of(url: &str) -> anyhow::Result<Backend> {
    Target::parse(url).map(|t| t.backend())
}

/// The file of a `sqlite://` URL.
pub fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    match Target::parse(url)? {
        Target::Sqlite(path) => Ok(path),
        Target::Postgres(_) => bail!("not a SQLite database URL"),
    }
}

/// The newest migration this build carries for a backend (its version, e.g. "20261207000018"), which a
/// backup must not be newer than.
pub fn latest_migration(backend: Backend) -> anyhow::Result<String> {
    use diesel::migration::MigrationSource;
    let versions: Vec<String> = match backend {
        Backend::Sqlite => {
            MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .iter()
                .map(|m| m.name().version().to_string())
                .collect()
        }
        Backend::Postgres => MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .iter()
            .map(|m| m.name().version().to_string())
            .collect(),
    };
    versions
        .into_iter()
        .max()
        .ok_or_else(|| anyhow::anyhow!("no migrations are built in"))
}

/// Builds each pooled connection for its backend and applies the settings SQLite forgets per connection.
#[derive(Debug)]
pub struct Manager {
    target: Target,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match &self.target {
            Target::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                // secure_delete: deleted content (an erased identity) is overwritten in the file, not
                // left in free pages for anyone holding a copy of the file to read.
                conn.batch_execute(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; \
                     PRAGMA secure_delete = ON;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            Target::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// Failures below the query layer: no connection to be had, or the blocking task died.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("database task failed: {0}")]
    Task(String),
}

/// The shared handle: a pool, the backend it talks to, and (for SQLite) the single-writer lock.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    sqlite_file: Option<PathBuf>,
    // SQLite has one writer: queueing writes here instead of racing for the file lock keeps p99 low.
    sqlite_writer: Arc<Mutex<()>>,
}

impl Db {
    pub fn connect(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        let target = Target::parse(url)?;
        if let Target::Sqlite(path) = &target {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating the data directory {}", dir.display()))?;
            }
        }
        let backend = target.backend();
        let sqlite_file = match &target {
            Target::Sqlite(path) => Some(path.clone()),
            Target::Postgres(_) => None,
        };
        let manager = Manager { target };
        // WAL is a property of the file, so it is set once here rather than on each connection.
        if backend == Backend::Sqlite {
            let mut conn = manager.connect().context("opening the SQLite database")?;
            conn.batch_execute("PRAGMA journal_mode = WAL;")?;
            if let Some(path) = &sqlite_file {
                crate::security::make_private(path)?;
            }
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            .build(manager)
            .with_context(|| format!("connecting to the {} database", backend.name()))?;
        Ok(Db {
            pool,
            backend,
            sqlite_file,
            sqlite_writer: Arc::new(Mutex::new(())),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the embedded migrations of this backend that have not run yet, after refusing a database
    /// a newer Voices has migrated (see `check_schema_not_newer`).
    pub fn migrate(&self) -> anyhow::Result<usize> {
        self.check_schema_not_newer()?;
        let mut conn = self.pool.get().context("connecting to run migrations")?;
        let applied = match &mut *conn {
            DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
            DbConnection::Postgres(c) => c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len()),
        }
        .map_err(|e| anyhow::anyhow!("running migrations: {e}"))?;
        Ok(applied)
    }

    /// The newest migration applied to the database (None while it has none), refused when it is newer
    /// than this build's newest: an older binary would run on tables it does not know, and diesel itself
    /// starts without a word. Reads only, so `voices check` leaves an empty database as it found it.
    pub fn check_schema_not_newer(&self) -> anyhow::Result<Option<String>> {
        use diesel::dsl::sql;
        use diesel::sql_types::Bool;
        let mut conn = self
            .pool
            .get()
            .context("connecting to read the schema version")?;
        let has_table = match &*conn {
            DbConnection::Postgres(_) => "to_regclass('__diesel_schema_migrations') IS NOT NULL",
            DbConnection::Sqlite(_) => {
                "EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__diesel_schema_migrations')"
            }
        };
        let has_table: bool =
            diesel::RunQueryDsl::get_result(diesel::select(sql::<Bool>(has_table)), &mut *conn)
                .context("reading the schema version")?;
        if !has_table {
            return Ok(None);
        }
        let applied = match &mut *conn {
            DbConnection::Postgres(c) => c.applied_migrations(),
            DbConnection::Sqlite(c) => c.applied_migrations(),
        }
        .map_err(|e| anyhow::anyhow!("reading the schema version: {e}"))?;
        let Some(newest) = applied.iter().map(ToString::to_string).max() else {
            return Ok(None);
        };
        let known = latest_migration(self.backend)?;
        if newest > known {
            bail!(
                "the database's schema is at migration {newest}, newer than this Voices knows (its newest is \
                 {known}): a newer version of Voices has upgraded it. Run that version or a later one, or \
                 restore the backup taken before the upgrade into a new database"
            );
        }
        Ok(Some(newest))
    }

    /// Runs read-only work on a blocking thread, off the async workers.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(DbError::from)?;
            work(&mut conn)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// Runs work in one transaction on a blocking thread; on SQLite, one writer at a time.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        let pool = self.pool.clone();
        let lock = (self.backend == Backend::Sqlite).then(|| self.sqlite_writer.clone());
        tokio::task::spawn_blocking(move || {
            let _turn = lock
                .as_ref()
                .map(|l| l.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            let mut conn = pool.get().map_err(DbError::from)?;
            conn.transaction(|c| work(c))
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// Makes rows just deleted from `table` unrecoverable from the database's own files: on PostgreSQL
    /// a VACUUM of the table (dead rows otherwise stay on disk until autovacuum gets to them); on SQLite,
    /// where `secure_delete` has already overwritten them, a checkpoint so the write-ahead log no longer
    /// holds the pages as they were.
    pub async fn reclaim(&self, table: &'static str) -> Result<(), DbError> {
        let pool = self.pool.clone();
        let lock = (self.backend == Backend::Sqlite).then(|| self.sqlite_writer.clone());
        tokio::task::spawn_blocking(move || {
            let _turn = lock
                .as_ref()
                .map(|l| l.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
            let mut conn = pool.get().map_err(DbError::from)?;
            let statement = match &*conn {
                DbConnection::Postgres(_) => format!("VACUUM {table}"),
                DbConnection::Sqlite(_) => "PRAGMA wal_checkpoint(TRUNCATE)".to_string(),
            };
            conn.batch_execute(&statement)
                .map_err(|e| DbError::Task(e.to_string()))
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// A real round trip to the database, bounded in time, for the health check. For SQLite the file
    /// must also still be where it was: open connections would carry on writing to a deleted file,
    /// and everything written would be lost at the next start.
    pub async fn ping(&self) -> bool {
        let pool = self.pool.clone();
        let sqlite_file = self.sqlite_file.clone();
        tokio::task::spawn_blocking(move || {
            if sqlite_file.is_some_and(|path| !path.exists()) {
                return false;
            }
            let Ok(mut conn) = pool.get_timeout(Duration::from_secs(2)) else {
                return false;
            };
            conn.batch_execute("SELECT 1 FROM __diesel_schema_migrations LIMIT 1")
                .is_ok()
        })
        .await
        .unwrap_or(false)
    }
}

/// Runs the same diesel statement on the connection's own backend, for the few statements
/// MultiConnection cannot build for both (a many-row INSERT on SQLite). The body is written once and
/// compiled once per backend.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgres($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

/// The current time as both databases keep it: UTC, whole microseconds (SQLite would keep nanoseconds).
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// The current time in whole seconds since 1970 (UTC), for what is kept in cookies and one-time codes.
pub fn unix_now() -> i64 {
    Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.cargo/config.toml` builds SQLite with query-planner stability, so statements with `LIMIT ?`
    /// stay prepared (BENCHMARKS.md): a build without it is several times slower on participants' pages.
    #[test]
    fn sqlite_keeps_prepared_statements() {
        use diesel::dsl::sql;
        use diesel::sql_types::Bool;
        use diesel::RunQueryDsl;
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        let stable: bool = diesel::select(sql::<Bool>(
            "EXISTS (SELECT 1 FROM pragma_compile_options WHERE compile_options = 'ENABLE_QPSG')",
        ))
        .get_result(&mut conn)
        .unwrap();
        assert!(stable, "SQLite built without SQLITE_ENABLE_QPSG");
    }

    #[test]
    fn urls_choose_the_backend_or_fail_clearly() {
        assert_eq!(
            Target::parse("sqlite://data/v.db").unwrap().backend(),
            Backend::Sqlite
        );
        assert_eq!(
            Target::parse("postgresql://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
        assert!(Target::parse("postgress://u@h/db").is_err());
        assert!(Target::parse("sqlite://:memory:").is_err());
        assert!(Target::parse("data/v.db").is_err());
    }
}
