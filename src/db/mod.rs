//! Connections, the pool, per-connection settings and migrations: the one place that knows there are two
//! databases. Everything above talks to `DbConnection` and never matches on the backend.

mod commit;
pub mod schema;
pub mod utc;

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, ExpressionMethods, PgConnection, RunQueryDsl, SqliteConnection};
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

/// When SQLite tells the operating system a commit is on disk (see config/default.toml).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSynchronous {
    /// At every commit: an operating-system crash or power cut loses nothing acknowledged.
    #[default]
    Full,
    /// At checkpoints only: faster, but a power cut can lose the last commits (never corrupting).
    Normal,
}

/// How the pool behaves, beyond where it connects.
#[derive(Debug, Clone, Copy)]
pub struct DbOptions {
    pub pool_size: u32,
    /// How long a request waits for a connection before the database counts as unavailable.
    pub wait: Duration,
    pub sqlite_synchronous: SqliteSynchronous,
}

impl DbOptions {
    pub fn with_pool_size(pool_size: u32) -> Self {
        DbOptions {
            pool_size,
            wait: Duration::from_millis(1500),
            sqlite_synchronous: SqliteSynchronous::default(),
        }
    }
}

/// A pooled connection. `read_only` marks a SQLite connection opened while its file could not be
/// written (a read-only file system, an immutable file): SQLite then opens it read-only for good, so it
/// is replaced once the file can be written again, and writes succeed with no restart.
pub struct Pooled {
    conn: DbConnection,
    read_only: bool,
    /// A statement failed because the server had gone: r2d2 drops the connection when it comes back.
    lost: bool,
    /// When it was last handed out, and how many lost connections the pool had seen by then.
    handed_out_at: Instant,
    losses_seen: u64,
}

impl Pooled {
    fn new(conn: DbConnection, read_only: bool, losses_seen: u64) -> Self {
        Pooled {
            conn,
            read_only,
            lost: false,
            handed_out_at: Instant::now(),
            losses_seen,
        }
    }
}

/// A PostgreSQL connection idle this long is asked whether it still works before it is handed out.
/// One in steady use is not: the question is a round trip of its own, as dear as the page's query.
const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// Builds each pooled connection for its backend and applies the settings SQLite forgets per connection.
#[derive(Debug)]
pub struct Manager {
    target: Target,
    sqlite_synchronous: SqliteSynchronous,
    counters: Arc<Counters>,
}

/// Whether this process can write the file now (what SQLite's own open will find).
fn writable(path: &Path) -> bool {
    std::fs::OpenOptions::new().write(true).open(path).is_ok()
}

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        match &self.target {
            Target::Sqlite(path) => {
                let writable_before = !path.exists() || writable(path);
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(r2d2::Error::ConnectionError)?;
                let synchronous = match self.sqlite_synchronous {
                    SqliteSynchronous::Full => "FULL",
                    SqliteSynchronous::Normal => "NORMAL",
                };
                // secure_delete: deleted content (an erased identity) is overwritten in the file, not
                // left in free pages for anyone holding a copy of the file to read.
                conn.batch_execute(&format!(
                    "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                     PRAGMA synchronous = {synchronous}; PRAGMA secure_delete = ON;"
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(Pooled::new(
                    DbConnection::Sqlite(conn),
                    !(writable_before && writable(path)),
                    self.counters.losses.load(Ordering::Relaxed),
                ))
            }
            Target::Postgres(url) => PgConnection::establish(url)
                .map(|conn| {
                    Pooled::new(
                        DbConnection::Postgres(conn),
                        false,
                        self.counters.losses.load(Ordering::Relaxed),
                    )
                })
                .map_err(r2d2::Error::ConnectionError),
        }
    }

    /// Checked as each connection is handed out. SQLite: a read-only one serves reads while its file
    /// cannot be written, and is replaced by a writable one as soon as the file can be. PostgreSQL: a
    /// connection is asked whether it still works only after being idle, or once after any connection
    /// was found lost (a restart or a network cut takes all of them).
    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        let idle = pooled.handed_out_at.elapsed();
        pooled.handed_out_at = Instant::now();
        match &self.target {
            Target::Sqlite(path) if pooled.read_only && writable(path) => Err(
                r2d2::Error::QueryError(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::Unknown,
                    Box::new("opened read-only while the file could not be written".to_string()),
                )),
            ),
            Target::Sqlite(_) => Ok(()),
            Target::Postgres(_) => {
                let losses = self.counters.losses.load(Ordering::Relaxed);
                if idle < PING_AFTER_IDLE && losses == pooled.losses_seen {
                    return Ok(());
                }
                pooled.losses_seen = losses;
                pooled.conn.ping().map_err(r2d2::Error::QueryError)
            }
        }
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        std::thread::panicking() || pooled.lost || pooled.conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// Whether an error means the database cannot be used just now (unreachable, no connection to be had
/// in time, its file read-only or its disk full) rather than that the request was wrong: the answer is
/// then 503 with a time to retry, and the service recovers by itself when the database does.
pub fn is_outage(error: &anyhow::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    error.chain().any(|cause| {
        if let Some(DbError::Pool(_) | DbError::Busy(_) | DbError::GroupStopped) =
            cause.downcast_ref::<DbError>()
        {
            return true;
        }
        match cause.downcast_ref::<Error>() {
            Some(Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )) => true,
            // SQLite reports these with its own words only.
            Some(Error::DatabaseError(DatabaseErrorKind::Unknown, info)) => {
                let message = info.message();
                [
                    "database is locked",
                    "database or disk is full",
                    "attempt to write a readonly database",
                    "disk I/O error",
                    "unable to open database file",
                ]
                .iter()
                .any(|m| message.contains(m))
            }
            _ => false,
        }
    })
}

/// Failures below the query layer: no connection to be had, or the blocking task died.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no database connection: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error("no database connection free within {0:?}")]
    Busy(Duration),
    #[error("database task failed: {0}")]
    Task(String),
    /// A SQLite write shares its commit with those queued beside it (see `commit`); one of them failed
    /// in the database, so none was kept. Saying it again may well work.
    #[error("not saved: another change committed with it failed in the database")]
    GroupStopped,
}

/// The shared handle: a pool, the backend it talks to, and (for SQLite) the single-writer lock.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    wait: Duration,
    sqlite_file: Option<PathBuf>,
    // SQLite has one writer: queueing writes here instead of racing for the file lock keeps p99 low.
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
    // SQLite's writes waiting to be committed together (see `commit`).
    sqlite_writes: Arc<commit::Queue>,
    // One per pooled connection. Work waits its turn here, as a task, and only then takes a blocking
    // thread: a thread parked on the pool costs its stack in memory and a wake-up in CPU.
    turns: Arc<tokio::sync::Semaphore>,
    counters: Arc<Counters>,
}

/// What work holds while it runs: a turn at a connection and, for a SQLite write, the writer's lock.
struct Admission {
    _turn: tokio::sync::OwnedSemaphorePermit,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// What is left of the time to wait, for the pool itself (a connection may need opening).
    left: Duration,
}

/// Counts a caller as waiting for its turn until it stops, however it stops: a SQLite write answered
/// by another caller's group stops waiting half-way.
struct Waiting<'a>(&'a AtomicU64);

impl<'a> Waiting<'a> {
    fn on(count: &'a AtomicU64) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How the database is coping, for `/metrics`.
#[derive(Debug, Clone, Copy)]
pub struct DbStats {
    pub pool_size: u32,
    pub in_use: u32,
    pub idle: u32,
    /// Callers waiting for a connection from the pool right now.
    pub waiting: u64,
    /// `read` and `write` calls that failed in the database, since the start.
    pub errors: u64,
    /// The size of SQLite's write-ahead log; None on PostgreSQL.
    pub wal_bytes: Option<u64>,
    /// SQLite's commits (groups of writes, see `commit`) and the writes in them since the start; None
    /// on PostgreSQL.
    pub sqlite_commits: Option<u64>,
    pub sqlite_writes: Option<u64>,
}

#[derive(Debug, Default)]
struct Counters {
    waiting: AtomicU64,
    errors: AtomicU64,
    /// Connections found gone (see `Manager::is_valid`).
    losses: AtomicU64,
}

impl Counters {
    fn connection(
        &self,
        pool: &Pool,
        wait: Duration,
    ) -> Result<r2d2::PooledConnection<Manager>, DbError> {
        pool.get_timeout(wait).map_err(|e| {
            self.errors.fetch_add(1, Ordering::Relaxed);
            DbError::from(e)
        })
    }

    /// Counts a failure in the database, and marks a connection that turned out to be gone so the
    /// pool drops it instead of handing it out again.
    fn count<T, E: 'static>(&self, pooled: &mut Pooled, result: Result<T, E>) -> Result<T, E> {
        if let Some(failure) = result.as_ref().err().and_then(|e| failure(e)) {
            self.tally(failure);
            if failure == Failure::ConnectionLost {
                pooled.lost = true;
            }
        }
        result
    }

    fn tally(&self, failure: Failure) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if failure == Failure::ConnectionLost {
            self.losses.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// How work failed in the database rather than on a rule of its own (a form not valid, a row not there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// A constraint refused a statement; the rest of the transaction stands.
    Refused,
    InDatabase,
    /// The server went away under the connection.
    ConnectionLost,
}

/// The work's error type is the caller's: these are the ones that carry database failures.
fn failure(error: &dyn Any) -> Option<Failure> {
    fn of_diesel(error: &diesel::result::Error) -> Option<Failure> {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound | Error::RollbackTransaction => None,
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            ) => Some(Failure::ConnectionLost),
            Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation
                | DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::NotNullViolation
                | DatabaseErrorKind::CheckViolation,
                _,
            ) => Some(Failure::Refused),
            _ => Some(Failure::InDatabase),
        }
    }
    fn in_chain(error: &anyhow::Error) -> Option<Failure> {
        error.chain().find_map(|cause| {
            if cause.is::<DbError>() {
                Some(Failure::InDatabase)
            } else {
                cause
                    .downcast_ref::<diesel::result::Error>()
                    .and_then(of_diesel)
            }
        })
    }
    if let Some(error) = error.downcast_ref::<crate::error::AppError>() {
        match error {
            crate::error::AppError::Internal(cause)
            | crate::error::AppError::Unavailable(cause) => in_chain(cause),
            _ => None,
        }
    } else if let Some(error) = error.downcast_ref::<diesel::result::Error>() {
        of_diesel(error)
    } else if let Some(error) = error.downcast_ref::<anyhow::Error>() {
        in_chain(error)
    } else {
        error.is::<DbError>().then_some(Failure::InDatabase)
    }
}

impl Db {
    /// A pool of `pool_size` with the defaults for everything else (command-line tools, tests).
    pub fn connect(url: &str, pool_size: u32) -> anyhow::Result<Self> {
        Self::open(url, DbOptions::with_pool_size(pool_size))
    }

    pub fn open(url: &str, options: DbOptions) -> anyhow::Result<Self> {
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
        let counters = Arc::new(Counters::default());
        let manager = Manager {
            target,
            sqlite_synchronous: options.sqlite_synchronous,
            counters: counters.clone(),
        };
        // WAL is a property of the file, so it is set once here rather than on each connection.
        if backend == Backend::Sqlite {
            let mut conn = manager.connect().context("opening the SQLite database")?;
            conn.conn.batch_execute("PRAGMA journal_mode = WAL;")?;
            if let Some(path) = &sqlite_file {
                crate::security::make_private(path)?;
            }
        }
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(options.wait)
            .build(manager)
            .with_context(|| format!("connecting to the {} database", backend.name()))?;
        Ok(Db {
            pool,
            backend,
            wait: options.wait,
            sqlite_file,
            sqlite_writer: Arc::new(tokio::sync::Mutex::new(())),
            sqlite_writes: Arc::default(),
            turns: Arc::new(tokio::sync::Semaphore::new(
                options.pool_size.max(1) as usize
            )),
            counters,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite database file, if that is the backend.
    pub fn sqlite_file(&self) -> Option<&Path> {
        self.sqlite_file.as_deref()
    }

    pub fn stats(&self) -> DbStats {
        let state = self.pool.state();
        let sqlite = self.backend == Backend::Sqlite;
        let wal_bytes = self.sqlite_file.as_ref().map(|file| {
            let mut wal = file.clone().into_os_string();
            wal.push("-wal");
            // No file is an empty log: SQLite removes it when the last connection closes.
            std::fs::metadata(wal).map_or(0, |m| m.len())
        });
        DbStats {
            pool_size: self.pool.max_size(),
            in_use: state.connections.saturating_sub(state.idle_connections),
            idle: state.idle_connections,
            waiting: self.counters.waiting.load(Ordering::Relaxed),
            errors: self.counters.errors.load(Ordering::Relaxed),
            wal_bytes,
            sqlite_commits: sqlite.then(|| self.sqlite_writes.groups.load(Ordering::Relaxed)),
            sqlite_writes: sqlite.then(|| self.sqlite_writes.writes.load(Ordering::Relaxed)),
        }
    }

    /// Applies the embedded migrations of this backend that have not run yet, after refusing a database
    /// a newer Voices has migrated (see `check_schema_not_newer`).
    pub fn migrate(&self) -> anyhow::Result<usize> {
        self.check_schema_not_newer()?;
        let mut conn = self.pool.get().context("connecting to run migrations")?;
        let applied = match &mut conn.conn {
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
        let mut pooled = self
            .pool
            .get()
            .context("connecting to read the schema version")?;
        let conn = &mut pooled.conn;
        let has_table = match conn {
            DbConnection::Postgres(_) => "to_regclass('__diesel_schema_migrations') IS NOT NULL",
            DbConnection::Sqlite(_) => {
                "EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__diesel_schema_migrations')"
            }
        };
        let has_table: bool =
            diesel::RunQueryDsl::get_result(diesel::select(sql::<Bool>(has_table)), conn)
                .context("reading the schema version")?;
        if !has_table {
            return Ok(None);
        }
        let applied = match conn {
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

    /// Waits, within the time a request waits for the database, for a turn at a connection and (for
    /// a SQLite write) the writer's lock.
    async fn admit(&self, writing: bool) -> Result<Admission, DbError> {
        let deadline = tokio::time::Instant::now() + self.wait;
        let busy = |_| {
            self.counters.errors.fetch_add(1, Ordering::Relaxed);
            DbError::Busy(self.wait)
        };
        let waiting = Waiting::on(&self.counters.waiting);
        let admitted = async {
            let writer = match writing && self.backend == Backend::Sqlite {
                true => Some(self.sqlite_writer.clone().lock_owned().await),
                false => None,
            };
            let turn = self.turns.clone().acquire_owned().await;
            (writer, turn)
        };
        let admitted = tokio::time::timeout_at(deadline, admitted).await;
        drop(waiting);
        let (writer, turn) = admitted.map_err(busy)?;
        Ok(Admission {
            _turn: turn.map_err(|_| DbError::Task("the pool was closed".into()))?,
            _writer: writer,
            left: deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .max(Duration::from_millis(1)),
        })
    }

    /// Runs read-only work on a blocking thread, off the async workers.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let admission = self.admit(false).await?;
        let (pool, counters) = (self.pool.clone(), self.counters.clone());
        tokio::task::spawn_blocking(move || {
            let mut pooled = counters.connection(&pool, admission.left)?;
            let done = work(&mut pooled.conn);
            drop(admission);
            counters.count(&mut pooled, done)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// Runs work in one transaction on a blocking thread; on SQLite, one writer at a time, committed
    /// together with the writes that queued beside it (see `commit`).
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        if self.backend == Backend::Sqlite {
            return self.write_in_group(work).await;
        }
        let admission = self.admit(true).await?;
        let (pool, counters) = (self.pool.clone(), self.counters.clone());
        tokio::task::spawn_blocking(move || {
            let mut pooled = counters.connection(&pool, admission.left)?;
            let done = pooled.conn.transaction(|c| work(c));
            drop(admission);
            counters.count(&mut pooled, done)
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// Queues the write, then waits for its answer or for the writer's turn, whichever comes first: the
    /// caller that gets the turn commits every write queued by then, its own among them unless an
    /// earlier group took it.
    async fn write_in_group<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        let (tell, answer) = tokio::sync::oneshot::channel();
        let id = self.sqlite_writes.push(commit::work(work, tell));
        let ended = |_| E::from(DbError::Task("the write's group ended unanswered".into()));
        tokio::pin!(answer);
        let turn = tokio::select! {
            biased;
            answered = &mut answer => return answered.map_err(ended)?,
            turn = self.admit(true) => turn,
        };
        let led = match turn {
            Ok(admission) => self.commit_group(admission).await,
            Err(busy) => Err(busy),
        };
        if let Err(error) = led {
            // No group ran: unless one before took this write, it is taken back and not run.
            if self.sqlite_writes.withdraw(id) {
                return Err(error.into());
            }
        }
        answer.await.map_err(ended)?
    }

    /// Commits the writes queued now, as one group, with the writer's turn.
    async fn commit_group(&self, admission: Admission) -> Result<(), DbError> {
        let (pool, counters) = (self.pool.clone(), self.counters.clone());
        let queue = self.sqlite_writes.clone();
        tokio::task::spawn_blocking(move || {
            let mut pooled = counters.connection(&pool, admission.left)?;
            queue.run_group(&mut pooled.conn, |failure| counters.tally(failure));
            Ok(())
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
        let admission = self.admit(true).await?;
        tokio::task::spawn_blocking(move || {
            let _admission = admission;
            let mut pooled = pool.get().map_err(DbError::from)?;
            let statement = match &pooled.conn {
                DbConnection::Postgres(_) => format!("VACUUM {table}"),
                DbConnection::Sqlite(_) => "PRAGMA wal_checkpoint(TRUNCATE)".to_string(),
            };
            pooled
                .conn
                .batch_execute(&statement)
                .map_err(|e| DbError::Task(e.to_string()))
        })
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
    }

    /// Whether a write can commit now, shown by committing one (the one-row `readiness_probe`), within
    /// the time a request would wait. For SQLite the file must also still be where it was and
    /// writable: connections open on a deleted file would carry on writing to it, and everything
    /// written would be lost at the next start.
    pub async fn check_write(&self) -> Result<(), &'static str> {
        if let Some(path) = &self.sqlite_file {
            if !path.exists() {
                return Err("the database file is missing");
            }
            if !writable(path) {
                return Err("the database file cannot be written");
            }
        }
        let probe = self.write(|conn| {
            diesel::update(schema::readiness_probe::table)
                .set(schema::readiness_probe::checked_at.eq(now()))
                .execute(conn)
                .map_err(anyhow::Error::from)
        });
        match tokio::time::timeout(self.wait + Duration::from_millis(500), probe).await {
            Ok(Ok(1)) => Ok(()),
            Ok(Ok(_)) => Err("the readiness probe row is missing"),
            Ok(Err(error)) => {
                tracing::warn!(error = %format!("{error:#}"), "readiness: a write failed");
                Err(if is_outage(&error) {
                    "the database cannot be reached or written"
                } else {
                    "a write failed"
                })
            }
            Err(_) => Err("a write did not finish in time"),
        }
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
