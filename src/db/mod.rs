//! Storage: the connection pool, the one enum that knows whether it talks to SQLite or
//! PostgreSQL, transactions and migrations. Nothing outside this module matches on the backend.
//!
//! diesel's `MultiConnection` derive cannot express `RETURNING` or `ON CONFLICT`, which the
//! resource modules need. Instead [`DbConn`] is an enum over the two concrete pooled connections
//! and [`db_run!`](crate::db_run) compiles the same query block once per arm, so every query keeps
//! the full, typed query builder of its backend.

pub mod pg_pool;
mod queue;
pub mod replicas;
pub mod schema;
pub mod search;
pub mod specific;

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::{AppError, AppResult};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long after its last statement that succeeded a PostgreSQL connection of the primary is
/// handed out without a `SELECT 1` first ([`pg_pool`]): a busy node's connections are always
/// within it, and the check would be one round trip more for every piece of work.
const TRUST_CONNECTION_FOR: Duration = Duration::from_secs(1);

/// Any key will do as long as every Newsdesk node uses the same one: it serialises migrations
/// when several nodes start at once against one PostgreSQL.
const MIGRATION_LOCK_KEY: i64 = 0x6e65_7773_6465_736b;

/// Runs `$body` with `$c` bound to the concrete connection of whichever backend `$conn` holds.
/// The block is compiled for both backends, so it must be valid diesel for each.
#[macro_export]
macro_rules! db_run {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => {
                let $c: &mut ::diesel::sqlite::SqliteConnection = &mut *$c;
                $body
            }
            $crate::db::DbConn::Postgres($c) => {
                let $c: &mut ::diesel::pg::PgConnection = &mut *$c;
                $body
            }
        }
    };
}

/// A SQLite statement whose text never changes, with its parameters between the parts of its
/// text. diesel prepares a raw `sql_query` anew on every call; a statement like this one it
/// keeps prepared per connection, which spares a search the parsing of its FTS5 queries (a
/// tenth of a search's time). Lists of ids are bound as one JSON array ([`json_ids`]), so that
/// their number does not change the text.
pub struct Kept<'a> {
    pub sql: &'static [&'static str],
    pub binds: Vec<Bind<'a>>,
}

/// A parameter of a [`Kept`] statement.
pub enum Bind<'a> {
    Text(&'a str),
    Int(i64),
}

impl diesel::query_builder::QueryFragment<diesel::sqlite::Sqlite> for Kept<'_> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::sqlite::Sqlite>,
    ) -> diesel::QueryResult<()> {
        for (i, part) in self.sql.iter().enumerate() {
            out.push_sql(part);
            match self.binds.get(i) {
                Some(Bind::Text(text)) => {
                    out.push_bind_param::<diesel::sql_types::Text, str>(text)?
                }
                Some(Bind::Int(n)) => out.push_bind_param::<diesel::sql_types::BigInt, i64>(n)?,
                None => {}
            }
        }
        Ok(())
    }
}

impl diesel::query_builder::QueryId for Kept<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl diesel::query_builder::Query for Kept<'_> {
    type SqlType = diesel::sql_types::Untyped;
}

impl diesel::RunQueryDsl<SqliteConnection> for Kept<'_> {}

/// Ids as one JSON array, for `IN (SELECT value FROM json_each(?))` in SQLite statements: the
/// ids are bound, never written into the SQL text, and a [`Kept`] statement stays one text.
pub fn json_ids(ids: &[i64]) -> String {
    let list: Vec<String> = ids.iter().map(i64::to_string).collect();
    format!("[{}]", list.join(","))
}

/// Which storage engine a [`Database`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// `postgres://` and `postgresql://` URLs select PostgreSQL; anything else is a SQLite file.
    pub fn from_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// The path diesel's SQLite driver wants, from `sqlite://file.db`, `sqlite:file.db` or `file.db`.
pub fn sqlite_path(url: &str) -> &str {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url)
}

#[derive(Clone)]
enum PoolKind {
    Sqlite(Pool<ConnectionManager<SqliteConnection>>),
    Postgres(Pool<pg_pool::PgManager>),
}

impl PoolKind {
    fn get(&self) -> AppResult<DbConn> {
        match self {
            PoolKind::Sqlite(p) => p.get().map(DbConn::Sqlite),
            PoolKind::Postgres(p) => p.get().map(DbConn::Postgres),
        }
        .map_err(|e| AppError::Unavailable(format!("database pool: {e}")))
    }
}

/// A pooled handle on the configured database; cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: PoolKind,
    /// Where [`Database::run`] queues work, with a thread per pooled connection.
    queue: Arc<queue::Queue>,
    /// Runs after every [`Database::transaction`] that committed a change readers can see.
    on_change: Arc<OnceLock<ChangeHook>>,
    /// How long queued work may wait before [`Database::overloaded`] says so.
    max_wait: Option<Duration>,
    /// Read replicas the Content API's reads may go to ([`Database::read`]).
    replicas: Option<Arc<replicas::Replicas>>,
}

type ChangeHook = Box<dyn Fn(&[String]) + Send + Sync>;

thread_local! {
    /// What the transaction running on this thread changed that readers see: the surrogate keys
    /// of the answers it makes stale (`None`: nothing).
    static CHANGED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Notes that the transaction running on this thread makes the answers carrying `stale` (the
/// surrogate keys) stale, so that when it commits, this node's hook
/// ([`Database::on_committed_change`]) runs with them. Only the change pipeline
/// (`articles::changes`) calls it; a transaction that rolls back runs no hook.
pub fn note_change(stale: &[String]) {
    CHANGED.with_borrow_mut(|changed| {
        changed
            .get_or_insert_with(Vec::new)
            .extend_from_slice(stale);
    });
}

/// One pooled connection to either backend.
pub enum DbConn {
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    Postgres(PooledConnection<pg_pool::PgManager>),
}

/// Settings applied to every SQLite connection as the pool opens it.
#[derive(Debug)]
struct SqliteSettings {
    busy_timeout: Duration,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqliteSettings {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // foreign_keys is per connection and off by default in SQLite. synchronous = FULL makes
        // every commit fsync the WAL before it returns, so a write we acknowledged survives a
        // crash or power loss (NORMAL would only survive an application crash).
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
            self.busy_timeout.as_millis()
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Every connection to a replica refuses writes, whatever asks.
#[derive(Debug)]
struct ReadOnly;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for ReadOnly {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute("SET default_transaction_read_only = on")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// SQLite counts the memory it allocates under one process-wide lock that every allocation and
/// free takes. Newsdesk reads no such statistics, and with several threads searching at once
/// that lock was contended on an eighth of all samples (perf), each wait a trip through the
/// kernel. Turned off before the process opens its first connection.
fn sqlite_without_memory_statistics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: sqlite3_config may only run while SQLite is not initialised and no other
        // thread uses it. Every connection Newsdesk opens is opened after this call (the Once
        // also holds back any thread that arrives meanwhile); if SQLite were initialised
        // already, the call returns SQLITE_MISUSE and changes nothing.
        let rc =
            unsafe { libsqlite3_sys::sqlite3_config(libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS, 0) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(rc, "SQLite memory statistics stay on");
        }
    });
}

/// Initialises the OpenSSL that libpq is built with (Cargo.toml) before libpq does, telling it
/// to register no exit handler: OpenSSL's own handler frees its state at exit while the
/// threads that hold PostgreSQL connections may still be running, and crashes the process as
/// it ends. Call before any PostgreSQL connection is made.
pub(crate) fn postgres_tls_without_exit_handler() {
    openssl_sys::init();
}

impl Database {
    /// Opens a pool on `url`. For SQLite the file is created if missing and switched to WAL.
    pub fn connect(url: &str, pool_size: u32) -> Result<Self, String> {
        let timeout = Duration::from_secs(5);
        let pool = match Backend::from_url(url) {
            Backend::Sqlite => {
                sqlite_without_memory_statistics();
                let path = sqlite_path(url);
                if path.is_empty() || path == ":memory:" {
                    return Err("DATABASE_URL must name a SQLite file; an in-memory database cannot be shared by a pool".into());
                }
                // WAL is a property of the file, not the connection: set it once, before the
                // pool opens connections that would otherwise race for it.
                let mut first = SqliteConnection::establish(path)
                    .map_err(|e| format!("cannot open SQLite database {path}: {e}"))?;
                first
                    .batch_execute("PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL;")
                    .map_err(|e| format!("cannot switch {path} to WAL: {e}"))?;
                let manager = ConnectionManager::<SqliteConnection>::new(path);
                let pool = Pool::builder()
                    .max_size(pool_size)
                    .connection_timeout(timeout)
                    .connection_customizer(Box::new(SqliteSettings {
                        busy_timeout: Duration::from_secs(5),
                    }))
                    .build(manager)
                    .map_err(|e| format!("cannot open SQLite pool: {e}"))?;
                PoolKind::Sqlite(pool)
            }
            Backend::Postgres => {
                postgres_tls_without_exit_handler();
                let manager = pg_pool::PgManager::new(url, TRUST_CONNECTION_FOR);
                let pool = Pool::builder()
                    .max_size(pool_size)
                    .connection_timeout(timeout)
                    .build(manager)
                    .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
                PoolKind::Postgres(pool)
            }
        };
        let queue = queue::Queue::start(pool_size as usize)
            .map_err(|e| format!("cannot start the database threads: {e}"))?;
        Ok(Database {
            pool,
            queue: Arc::new(queue),
            on_change: Arc::default(),
            max_wait: None,
            replicas: None,
        })
    }

    /// Opens a pool on a PostgreSQL read replica: read-only connections
    /// (`default_transaction_read_only`), a short connection timeout, and no connection made
    /// before one is needed, so that a replica that is down neither stops the node from starting
    /// nor holds up a reader for long.
    pub fn connect_replica(url: &str, pool_size: u32) -> Result<Self, String> {
        if Backend::from_url(url) != Backend::Postgres {
            return Err("DATABASE_REPLICA_URL must name PostgreSQL replicas (postgres://…)".into());
        }
        postgres_tls_without_exit_handler();
        // Checked every time: a replica that stops is noticed before a reader's work is given
        // to it, and the primary serves instead.
        let manager = pg_pool::PgManager::new(url, Duration::ZERO);
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_millis(500))
            .connection_customizer(Box::new(ReadOnly))
            .build_unchecked(manager);
        let queue = queue::Queue::start(pool_size as usize)
            .map_err(|e| format!("cannot start the database threads: {e}"))?;
        Ok(Database {
            pool: PoolKind::Postgres(pool),
            queue: Arc::new(queue),
            on_change: Arc::default(),
            max_wait: None,
            replicas: None,
        })
    }

    /// Sends the Content API's reads ([`Database::read`]) to these replicas while they are healthy.
    pub fn with_replicas(mut self, replicas: Arc<replicas::Replicas>) -> Self {
        self.replicas = (!replicas.is_empty()).then_some(replicas);
        self
    }

    /// The replicas reads may go to, if any.
    pub fn replicas(&self) -> Option<&Arc<replicas::Replicas>> {
        self.replicas.as_ref()
    }

    /// Sheds load once queued work has waited longer than `max_wait` (zero: never).
    pub fn shedding_after(mut self, max_wait: Duration) -> Self {
        self.max_wait = (!max_wait.is_zero()).then_some(max_wait);
        self
    }

    /// Whether the work queued longest ago has waited longer than the bound: new work that
    /// can be refused (an uncached read) is, with 503 and `Retry-After`, rather than queued
    /// behind it, while answers that need no database keep being served.
    pub fn overloaded(&self) -> bool {
        self.max_wait
            .is_some_and(|bound| self.queue.oldest_wait() > bound)
    }

    /// How many pieces of database work wait, and how long the oldest has waited.
    pub fn queue_stats(&self) -> (usize, Duration) {
        self.queue.stats()
    }

    /// The pool's connections: open, and of those idle.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = match &self.pool {
            PoolKind::Sqlite(p) => p.state(),
            PoolKind::Postgres(p) => p.state(),
        };
        (state.connections, state.idle_connections)
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            PoolKind::Sqlite(_) => Backend::Sqlite,
            PoolKind::Postgres(_) => Backend::Postgres,
        }
    }

    /// A connection from the pool; a pool that cannot hand one out in time is a 503.
    pub fn get(&self) -> AppResult<DbConn> {
        self.pool.get()
    }

    /// Runs blocking database work on the database's own threads, never on the executor, in
    /// the order it was asked for (see [`queue`]).
    pub async fn run<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = futures_channel::oneshot::channel();
        let pool = self.pool.clone();
        self.queue.push(Box::new(move || {
            // A request whose client hung up while it waited is not worked on.
            if answer.is_canceled() {
                return;
            }
            let result = pool.get().and_then(|mut conn| f(&mut conn));
            let _ = answer.send(result);
        }));
        answered
            .await
            .map_err(|_| AppError::Internal("database work ended without an answer".into()))?
    }

    /// Like [`Database::run`], for a thread that is not async (the webhook senders), which waits
    /// for the answer. The work goes ahead of the requests waiting in the queue, on the queue's
    /// connections: background work never holds a connection beside them (which would leave a
    /// request's thread waiting for one), and a burst of requests never holds up a delivery.
    /// At most a few such jobs wait at a time (one per sender).
    pub fn run_blocking<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = std::sync::mpsc::channel();
        let pool = self.pool.clone();
        self.queue.push_first(Box::new(move || {
            let result = pool.get().and_then(|mut conn| f(&mut conn));
            let _ = answer.send(result);
        }));
        answered
            .recv()
            .map_err(|_| AppError::Internal("database work ended without an answer".into()))?
    }

    /// Like [`Database::run`], inside one write transaction. When the transaction commits a
    /// change readers can see, the hook set with [`Database::on_committed_change`] runs before
    /// the caller gets its answer.
    pub async fn transaction<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(self.committing(f)).await
    }

    /// `f` in one write transaction, running the committed-change hook when it committed a
    /// change readers can see: what [`Database::transaction`] and
    /// [`Database::transaction_blocking`] hand to their queue.
    fn committing<T, F>(&self, f: F) -> impl FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let hook = self.on_change.clone();
        move |conn| {
            CHANGED.take();
            let result = conn.transaction(f);
            if let (Some(stale), true) = (CHANGED.take(), result.is_ok()) {
                if let Some(hook) = hook.get() {
                    hook(&stale);
                }
            }
            result
        }
    }

    /// Like [`Database::transaction`], for a thread that is not async (the media job), through
    /// [`Database::run_blocking`].
    pub fn transaction_blocking<T, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> AppResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run_blocking(self.committing(f))
    }

    /// Sets what runs on this node after each committed change, with the surrogate keys it made
    /// stale (the first call wins): the node forgets those answers, so a change shows through
    /// the node that made it at once.
    pub fn on_committed_change(&self, hook: impl Fn(&[String]) + Send + Sync + 'static) {
        let _ = self.on_change.set(Box::new(hook));
    }

    /// Applies every pending migration; safe when several nodes start at once.
    pub fn migrate(&self) -> Result<usize, String> {
        let mut conn = self.get().map_err(|e| e.to_string())?;
        let applied = match &mut conn {
            DbConn::Sqlite(c) => c
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|v| v.len())
                .map_err(|e| e.to_string()),
            DbConn::Postgres(c) => {
                let lock = format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})");
                c.batch_execute(&lock).map_err(|e| e.to_string())?;
                let result = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.len())
                    .map_err(|e| e.to_string())
                    .and_then(|n| {
                        specific::restore_postgres_search_indexes(c)
                            .map(|()| n)
                            .map_err(|e| format!("building the search indexes: {e}"))
                    });
                let unlock = format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})");
                c.batch_execute(&unlock).map_err(|e| e.to_string())?;
                result
            }
        }?;
        Ok(applied)
    }

    /// True when the database answers and has every migration this binary knows.
    pub fn is_ready(&self) -> AppResult<bool> {
        let mut conn = self.get()?;
        let pending = match &mut conn {
            DbConn::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
            DbConn::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
        };
        pending
            .map(|p| !p)
            .map_err(|e| AppError::Unavailable(format!("migration check: {e}")))
    }
}

impl DbConn {
    /// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    ///
    /// On SQLite the transaction is `BEGIN IMMEDIATE`: it takes the write lock up front, so two
    /// writers queue on the busy timeout instead of one failing when it upgrades a read lock.
    ///
    /// A process's SQLite writers also take turns in the order they came ([`WriteTurns`]).
    pub fn transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        let _turn = match self {
            DbConn::Sqlite(c) => {
                let turn = WRITE_TURNS.wait();
                AnsiTransactionManager::begin_transaction_sql(&mut **c, "BEGIN IMMEDIATE")?;
                Some(turn)
            }
            DbConn::Postgres(c) => {
                AnsiTransactionManager::begin_transaction(&mut **c)?;
                None
            }
        };
        match f(self) {
            Ok(value) => {
                db_run!(self, |c| AnsiTransactionManager::commit_transaction(c))?;
                Ok(value)
            }
            Err(e) => {
                if let Err(rollback) =
                    db_run!(self, |c| AnsiTransactionManager::rollback_transaction(c))
                {
                    tracing::error!(error = %rollback, "rollback failed");
                }
                Err(e)
            }
        }
    }

    /// Serialises writers to `table` until the transaction ends. Used where a rule spans rows
    /// ("at least one enabled admin", "no fallback cycle") and a concurrent writer could
    /// otherwise break it. SQLite's `BEGIN IMMEDIATE` already admits one writer at a time.
    pub fn lock_table(&mut self, table: &'static str) -> AppResult<()> {
        if let DbConn::Postgres(c) = self {
            c.batch_execute(&format!("LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))?;
        }
        Ok(())
    }
}

/// SQLite's writers in this process, in the order they asked. SQLite admits one writer at a
/// time, and one that finds the lock taken polls for it, sleeping up to 100 ms between tries:
/// a thread that writes again and again (a burst of publications) takes the lock back each time
/// it is free, and the poller can wait for seconds (webhook deliveries waited two to be
/// recorded). Here each writer waits for its turn and is woken as the one before it finishes;
/// the busy timeout still orders this process's writers with other processes'.
struct WriteTurns {
    /// The next ticket to hand out, and the ticket whose turn it is.
    tickets: Mutex<(u64, u64)>,
    turn: Condvar,
}

static WRITE_TURNS: WriteTurns = WriteTurns {
    tickets: Mutex::new((0, 0)),
    turn: Condvar::new(),
};

/// A writer's turn, given to the next when dropped.
struct Turn(&'static WriteTurns);

impl WriteTurns {
    fn wait(&'static self) -> Turn {
        let mut t = self.tickets.lock().unwrap_or_else(|p| p.into_inner());
        let ticket = t.0;
        t.0 += 1;
        while t.1 != ticket {
            t = self.turn.wait(t).unwrap_or_else(|p| p.into_inner());
        }
        Turn(self)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.0.tickets.lock().unwrap_or_else(|p| p.into_inner()).1 += 1;
        self.0.turn.notify_all();
    }
}

/// The current time as stored: UTC, to the microsecond (PostgreSQL's precision), so a value
/// reads back equal to what was written on both backends.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sql_types::BigInt;
    use diesel::RunQueryDsl;

    #[test]
    fn writers_take_their_turns_in_the_order_they_asked() {
        let turns: &'static WriteTurns = Box::leak(Box::new(WriteTurns {
            tickets: Mutex::new((0, 0)),
            turn: Condvar::new(),
        }));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = turns.wait();
        let queued = |n: u64| {
            while turns.tickets.lock().unwrap().0 < n {
                std::thread::yield_now();
            }
        };
        let mut waiting = Vec::new();
        for (n, name) in [(2, "second"), (3, "third"), (4, "fourth")] {
            let order = order.clone();
            waiting.push(std::thread::spawn(move || {
                let _turn = turns.wait();
                order.lock().unwrap().push(name);
            }));
            queued(n);
        }
        // The holder comes back for another turn while the others wait: it is fifth.
        drop(first);
        let again = turns.wait();
        order.lock().unwrap().push("first again");
        drop(again);
        for w in waiting {
            w.join().unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            ["second", "third", "fourth", "first again"]
        );
    }

    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }

    /// Work queued for a request whose caller stopped waiting (the client hung up) is
    /// skipped; the work queued after it still runs.
    #[test]
    fn work_nobody_waits_for_any_more_is_not_done() {
        use futures_util::FutureExt;
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::mpsc;

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("queue.db").display());
        let db = Database::connect(&url, 1).unwrap();
        // The only database thread is held until the rest is queued.
        let (release, hold) = mpsc::channel::<()>();
        let (started, running) = mpsc::channel::<()>();
        let holder = db.clone();
        let held = std::thread::spawn(move || {
            block_on(holder.run(move |_| {
                started.send(()).unwrap();
                hold.recv().unwrap();
                Ok(())
            }))
        });
        running.recv().unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        // Polled once, the work is queued; then its caller goes away.
        let abandoned = db.run(move |_| {
            flag.store(true, Ordering::SeqCst);
            Ok(())
        });
        assert!(abandoned.now_or_never().is_none());
        let after = db.run(|conn| Ok(matches!(conn, DbConn::Sqlite(_))));
        release.send(()).unwrap();
        held.join().unwrap().unwrap();
        assert!(block_on(after).unwrap());
        assert!(!ran.load(Ordering::SeqCst), "abandoned work ran");
    }

    /// Drives a future to completion on this thread.
    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        actix_web::rt::System::new().block_on(f)
    }

    /// Migration 9 moves an archive's search index into the new tables: every published
    /// translation's words, and nothing a stale entry of the old index still held.
    #[test]
    fn search_tables_take_over_an_existing_index() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upgrade.db");
        let mut c = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
        let next = |c: &mut SqliteConnection| {
            c.pending_migrations(SQLITE_MIGRATIONS).unwrap()[0]
                .name()
                .to_string()
        };
        while !next(&mut c).ends_with("_search_tables") {
            c.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        }
        // The rows an archive from before holds; their stories and languages do not matter here.
        c.batch_execute(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO translations (id, article_id, lang, slug, title, subtitle, excerpt,
                 excerpt_auto, seo_title, seo_description, word_count, reading_minutes, status,
                 version, content_version, created_at, updated_at, body)
             VALUES (1, 1, 'ka', 'a', 'თბილისის მერია', '', '', 1, '', '', 3, 1, 'published',
                     1, 1, '2026-01-01', '2026-01-01', ''),
                    (2, 2, 'ka', 'b', 'Draft', '', '', 1, '', '', 1, 1, 'draft',
                     1, 1, '2026-01-01', '2026-01-01', '');
             INSERT INTO search_index (rowid, title, body, lang)
             VALUES (1, 'თბილისის მერია ', 'ახალი ავტობუსები', 'ka'),
                    (2, 'Draft ', 'stale words', 'ka');",
        )
        .unwrap();
        c.run_next_migration(SQLITE_MIGRATIONS).unwrap();
        let mut matching = |sql: &str| -> Vec<i64> {
            diesel::sql_query(sql)
                .load::<Id>(&mut c)
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect()
        };
        let titles = "SELECT rowid AS id FROM search_titles WHERE search_titles MATCH";
        let text = "SELECT rowid AS id FROM search_text WHERE search_text MATCH";
        assert_eq!(matching(&format!("{titles} '\"მერია\"'")), vec![1]);
        assert_eq!(
            matching(&format!("{titles} '\"ავტობუსები\"'")),
            Vec::<i64>::new()
        );
        assert_eq!(matching(&format!("{text} '\"ავტობუსები\"'")), vec![1]);
        assert_eq!(matching(&format!("{text} '\"stale\"'")), Vec::<i64>::new());
        assert_eq!(
            matching("SELECT id FROM search_documents"),
            vec![1],
            "only published translations move"
        );
        // The triggers keep both indexes in step with the documents.
        matching("UPDATE search_documents SET title = 'ახალი მერია' WHERE id = 1 RETURNING id");
        assert_eq!(matching(&format!("{titles} '\"ახალი\"'")), vec![1]);
        assert_eq!(
            matching(&format!("{titles} '\"თბილისის\"'")),
            Vec::<i64>::new()
        );
        matching("DELETE FROM search_documents WHERE id = 1 RETURNING id");
        assert_eq!(matching(&format!("{text} '\"მერია\"'")), Vec::<i64>::new());
        assert_eq!(
            matching(&format!("{titles} '\"მერია\"'")),
            Vec::<i64>::new()
        );
    }
}
