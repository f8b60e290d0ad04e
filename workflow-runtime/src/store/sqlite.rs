//! The embedded store: one SQLite file, written by one thread.
//!
//! Every operation is a job sent to the database thread. The thread takes
//! all the jobs waiting and runs them in one transaction (group commit),
//! each inside its own savepoint so one job's failure (a stale fence, say)
//! does not undo its neighbours; replies go out only after the COMMIT, so a
//! caller never hears "done" for a write that a crash could still lose.
//! The file is in WAL mode with `synchronous = NORMAL`: a killed process
//! loses nothing committed; a power cut may lose the last transactions.

mod children;
mod engine_lock;
mod pending;
mod purge;

use std::borrow::Cow;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use tokio::sync::oneshot;

use self::engine_lock::EngineLock;
use super::{
    AwaitedCallback, CallbackResult, Checkpoint, ChildTransition, Claim, Created, Filter,
    FinishedChild, NewExecution, PendingQuery, PendingRow, Store, StoreError, StoreFuture,
    StoredDefinition, StoredExecution, Transition, check_events,
};
use crate::error_info::ErrorInfo;
use crate::history::{Event, EventKind};
use crate::status::Status;

/// The most jobs one transaction takes.
const BATCH: usize = 512;

/// The schema, one migration per version; `PRAGMA user_version` records how
/// many have run.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        workflow TEXT NOT NULL,
        version TEXT NOT NULL,
        input TEXT NOT NULL,
        state TEXT NOT NULL,
        state_name TEXT NOT NULL,
        entry INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        retries TEXT NOT NULL,
        waiting TEXT,
        wake_at INTEGER,
        status TEXT NOT NULL,
        output TEXT,
        error_name TEXT,
        error_cause TEXT,
        started_at INTEGER NOT NULL,
        stopped_at INTEGER,
        last_event_id INTEGER NOT NULL,
        fence INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER
    );
    CREATE INDEX executions_due ON executions (status, wake_at);
    CREATE INDEX executions_by_workflow ON executions (workflow, status);
    CREATE TABLE events (
        execution TEXT NOT NULL,
        id INTEGER NOT NULL,
        previous_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        state TEXT,
        data TEXT,
        PRIMARY KEY (execution, id)
    ) WITHOUT ROWID;
"#,
    r#"
    CREATE TABLE callbacks (
        token TEXT PRIMARY KEY,
        succeeded INTEGER NOT NULL,
        output TEXT,
        error TEXT,
        cause TEXT
    ) WITHOUT ROWID;
"#,
    r#"
    CREATE TABLE definitions (
        workflow TEXT NOT NULL,
        version TEXT NOT NULL,
        definition TEXT NOT NULL,
        PRIMARY KEY (workflow, version)
    );
"#,
    // Claiming due executions walked every running row: (status, wake_at)
    // cannot tell a parked row from one an engine holds. This index puts
    // the unleased ones together, by wake-up time.
    r#"
    DROP INDEX IF EXISTS executions_due;
    CREATE INDEX IF NOT EXISTS executions_claimable
        ON executions (status, lease_until, wake_at);
"#,
    // Callback tokens made with a random secret per execution, and the
    // callbacks that wait, for the pending list. Executions from before get
    // a secret of their own here (SQLite's generator is seeded from the
    // system's randomness); tokens they handed out before, which were
    // their idempotency keys, are refused from now on.
    r#"
    ALTER TABLE executions ADD COLUMN callback_secret TEXT NOT NULL DEFAULT '';
    UPDATE executions SET callback_secret = lower(hex(randomblob(32)));
    CREATE TABLE awaited_callbacks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        token TEXT NOT NULL,
        execution TEXT NOT NULL,
        anchor_state TEXT NOT NULL,
        anchor_entry INTEGER NOT NULL,
        state TEXT NOT NULL,
        since INTEGER NOT NULL,
        message TEXT
    );
    CREATE INDEX awaited_callbacks_by_execution ON awaited_callbacks (execution);
"#,
    // Finished Parallel branches and Map iterations, so that a resumed
    // state runs only the children that had not finished.
    r#"
    CREATE TABLE children (
        execution TEXT NOT NULL,
        entry INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        output TEXT NOT NULL,
        PRIMARY KEY (execution, entry, attempt, idx)
    ) WITHOUT ROWID;
"#,
];

/// A commit's UPDATE when the status and wake-up time stay as they are
/// (?7 and ?8 go unused: a statement's parameters are numbered up to its
/// highest, so both statements take the same list).
const UPDATE_CHECKPOINT: &str = "UPDATE executions SET state = ?2, entry = ?3, attempt = ?4, \
     retries = ?5, waiting = ?6, output = ?9, error_name = ?10, error_cause = ?11, \
     stopped_at = COALESCE(?12, stopped_at), last_event_id = ?13, state_name = ?14 \
     WHERE id = ?1";

/// A commit's UPDATE when the status or the wake-up time change.
const UPDATE_CHECKPOINT_AND_STATUS: &str = "UPDATE executions SET state = ?2, entry = ?3, \
     attempt = ?4, retries = ?5, waiting = ?6, wake_at = ?7, status = ?8, output = ?9, \
     error_name = ?10, error_cause = ?11, stopped_at = COALESCE(?12, stopped_at), \
     last_event_id = ?13, state_name = ?14 WHERE id = ?1";

type Reply = Box<dyn FnOnce(Option<&StoreError>) + Send>;
/// A job runs on the connection (or is told the batch could not begin),
/// and returns its reply with its own error, if it failed.
type Job = Box<dyn FnOnce(Result<&Connection, &StoreError>) -> (Reply, Option<StoreError>) + Send>;

/// Executions in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    mode: Mode,
    /// Taken at the first create or claim: one engine per file.
    engine_lock: EngineLock,
}

#[derive(Debug)]
enum Mode {
    /// Jobs go to the database thread, which commits them in groups.
    Thread(mpsc::Sender<Job>),
    /// Jobs run on the caller's thread, one transaction each.
    Inline(std::sync::Mutex<Connection>),
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, bringing its schema up to
    /// date. Operations run on a database thread that commits them in
    /// groups.
    ///
    /// Under tokio's paused clock (`#[tokio::test(start_paused = true)]`)
    /// timings stay exact: on a current-thread runtime, the one a paused
    /// clock needs, each operation waits for the database thread on the
    /// caller's thread, so virtual time cannot run ahead of a write.
    ///
    /// One engine at a time drives a file: the first store that creates
    /// (holding it) or claims an execution in it locks `<path>-engine.lock`
    /// until it is dropped or its engine stops, and another store's create or claim (another process's
    /// `recover` or `start`, say) fails with [`StoreError::Locked`] instead
    /// of taking over executions that are still running. Reading takes no
    /// lock: the `workflow` CLI can inspect a file a service is using.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let connection = Connection::open(path).map_err(database)?;
        Self::threaded(prepare(connection)?, EngineLock::for_database(path))
    }

    /// A database in memory, for tests.
    pub fn in_memory() -> Result<Self, StoreError> {
        let connection = Connection::open_in_memory().map_err(database)?;
        Self::threaded(prepare(connection)?, EngineLock::none())
    }

    /// Opens the database at `path` without a database thread: each
    /// operation runs on the caller's thread in a transaction of its own (no
    /// group commit), and is done when its future is first polled.
    ///
    /// Tests on tokio's paused clock do not need it: [`open`](SqliteStore::open)
    /// keeps exact timings there too (see its docs). It is for a caller
    /// that wants no extra thread. It takes the same engine lock as
    /// [`open`](SqliteStore::open).
    pub fn open_inline(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let connection = prepare(Connection::open(path).map_err(database)?)?;
        Ok(SqliteStore {
            mode: Mode::Inline(std::sync::Mutex::new(connection)),
            engine_lock: EngineLock::for_database(path),
        })
    }

    /// How long a write waits for another process's lock before failing
    /// with [`StoreError::Locked`]. Default: 5 s.
    pub async fn set_busy_timeout(&self, timeout: Duration) -> Result<(), StoreError> {
        self.run(move |connection| connection.busy_timeout(timeout).map_err(database))
            .await
    }

    /// Caps the database at about `bytes` (in whole pages); a write past
    /// it fails with [`StoreError::Full`], as a full disk would.
    pub async fn set_max_size(&self, bytes: u64) -> Result<(), StoreError> {
        self.run(move |connection| {
            let page: i64 = connection
                .query_row("PRAGMA page_size", [], |row| row.get(0))
                .map_err(database)?;
            let pages = i64::try_from(bytes).unwrap_or(i64::MAX) / page.max(1);
            connection
                .query_row(
                    &format!("PRAGMA max_page_count = {}", pages.max(1)),
                    [],
                    |_| Ok(()),
                )
                .map_err(database)
        })
        .await
    }

    fn threaded(connection: Connection, engine_lock: EngineLock) -> Result<Self, StoreError> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("workflow-sqlite".into())
            .spawn(move || serve(connection, queue))
            .map_err(|e| StoreError::Database(format!("cannot start the database thread: {e}")))?;
        Ok(SqliteStore {
            mode: Mode::Thread(jobs),
            engine_lock,
        })
    }
}

/// Settings and schema for a freshly opened connection.
fn prepare(connection: Connection) -> Result<Connection, StoreError> {
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(database)?;
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .map_err(database)?;
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(database)?;
    // Each job runs in a savepoint, whose undo log SQLite otherwise keeps
    // in a temporary file: one more write per page a job changes.
    connection
        .pragma_update(None, "temp_store", "MEMORY")
        .map_err(database)?;
    migrate(&connection)?;
    // Every statement the store runs stays prepared: there are about twenty,
    // more than rusqlite's default cache of 16 holds.
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

impl SqliteStore {
    /// Runs `f` on the database thread, inside the current batch's
    /// transaction and its own savepoint.
    ///
    /// On a current-thread tokio runtime the caller's thread waits for the
    /// reply instead of awaiting it. That runtime is what tokio's paused
    /// clock runs on, and there an `await` on another thread leaves the
    /// runtime idle, and an idle paused runtime jumps its clock to the next
    /// timer: a wait or a lease would expire while the database thread is
    /// still writing. Waiting here keeps virtual time where the engine is,
    /// so the store opened as in production gives exact timings in tests.
    /// (One thread has one job in flight then, so group commit only merges
    /// the jobs of other threads; a multi-thread runtime keeps it all.)
    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        let waits_here = matches!(
            tokio::runtime::Handle::try_current().map(|runtime| runtime.runtime_flavor()),
            Ok(tokio::runtime::RuntimeFlavor::CurrentThread)
        );
        let (reply_to, reply) = if waits_here {
            let (tx, rx) = mpsc::sync_channel(1);
            (ReplyTo::Here(tx), Waiting::Here(rx))
        } else {
            let (tx, rx) = oneshot::channel();
            (ReplyTo::Later(tx), Waiting::Later(rx))
        };
        let job: Job = Box::new(move |connection| {
            let result = match connection {
                Ok(connection) => in_savepoint(connection, f),
                Err(error) => Err(error.clone()),
            };
            let failed = result.as_ref().err().cloned();
            let reply: Reply = Box::new(move |commit_error| {
                let result = match commit_error {
                    Some(error) => Err(error.clone()),
                    None => result,
                };
                reply_to.send(result);
            });
            (reply, failed)
        });
        let sent = match &self.mode {
            Mode::Thread(jobs) => jobs.send(job).map_err(|_| StoreError::Closed),
            Mode::Inline(connection) => {
                // A panic inside a job cannot leave the connection mid-way:
                // every job runs in a transaction that SQLite rolls back.
                let connection = connection
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                run_batch(&connection, vec![job]);
                Ok(())
            }
        };
        let result = match (sent, reply) {
            (Err(error), _) => Err(error),
            (Ok(()), Waiting::Here(rx)) => rx.recv().unwrap_or(Err(StoreError::Closed)),
            (Ok(()), Waiting::Later(rx)) => {
                return Box::pin(async move { rx.await.unwrap_or(Err(StoreError::Closed)) });
            }
        };
        Box::pin(std::future::ready(result))
    }
}

/// Where a job's reply goes: to a caller waiting on its thread, or to one
/// that awaits it.
enum ReplyTo<T> {
    Here(mpsc::SyncSender<Result<T, StoreError>>),
    Later(oneshot::Sender<Result<T, StoreError>>),
}

impl<T> ReplyTo<T> {
    fn send(self, result: Result<T, StoreError>) {
        // The caller may have stopped waiting; nothing to do then.
        match self {
            ReplyTo::Here(tx) => drop(tx.send(result)),
            ReplyTo::Later(tx) => drop(tx.send(result)),
        }
    }
}

/// How the caller gets a job's reply.
enum Waiting<T> {
    Here(mpsc::Receiver<Result<T, StoreError>>),
    Later(oneshot::Receiver<Result<T, StoreError>>),
}

/// The database thread: batches of jobs, one transaction each.
fn serve(connection: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&connection, batch);
    }
}

/// Runs jobs in one transaction and replies to each once it is committed.
fn run_batch(connection: &Connection, batch: Vec<Job>) {
    if let Err(error) = connection
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(database)
    {
        for job in batch {
            let (reply, _) = job(Err(&error));
            reply(Some(&error));
        }
        return;
    }
    let mut replies = Vec::with_capacity(batch.len());
    let mut first_error = None;
    for job in batch {
        let (reply, failed) = job(Ok(connection));
        if first_error.is_none() {
            first_error = failed;
        }
        replies.push(reply);
    }
    // Some errors (a full disk, say) make SQLite roll the whole transaction
    // back on its own: then nothing of this batch was written, and every
    // caller must hear so, with the error that did it.
    let outcome = if connection.is_autocommit() {
        Err(first_error
            .unwrap_or_else(|| StoreError::Database("the transaction was rolled back".into())))
    } else {
        let committed = connection.execute_batch("COMMIT").map_err(database);
        if committed.is_err() {
            let _ = connection.execute_batch("ROLLBACK");
        }
        committed
    };
    for reply in replies {
        reply(outcome.as_ref().err());
    }
}

fn in_savepoint<T>(
    connection: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    // Cached statements: every job of a batch opens and ends one, and
    // parsing them each time was a measurable share of a commit.
    connection
        .prepare_cached("SAVEPOINT job")
        .and_then(|mut savepoint| savepoint.execute([]))
        .map_err(database)?;
    let result = f(connection);
    let ended = if result.is_ok() {
        connection
            .prepare_cached("RELEASE job")
            .and_then(|mut release| release.execute([]))
            .map(drop)
    } else {
        connection.execute_batch("ROLLBACK TO job; RELEASE job")
    };
    // If SQLite already rolled the transaction back (a full disk does),
    // the savepoint is gone too; the job's own error is the one to report.
    match (result, ended) {
        (Err(error), _) => Err(error),
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(error)) => Err(database(error)),
    }
}

fn migrate(connection: &Connection) -> Result<(), StoreError> {
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(database)?;
    let supported = MIGRATIONS.len() as i64;
    if version > supported {
        return Err(StoreError::NewerSchema {
            found: version,
            supported,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let next = index as i64 + 1;
        connection
            .execute_batch(&format!(
                "BEGIN IMMEDIATE; {migration}; PRAGMA user_version = {next}; COMMIT;"
            ))
            .map_err(database)?;
    }
    Ok(())
}

fn database(error: rusqlite::Error) -> StoreError {
    let text = error.to_string();
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked(text),
        Some(ErrorCode::DiskFull) => StoreError::Full(text),
        _ => StoreError::Database(text),
    }
}

fn nanos(time: SystemTime) -> i64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

fn time(nanos: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

const COLUMNS: &str = "id, name, workflow, version, input, state, entry, attempt, retries, \
    waiting, wake_at, status, output, error_name, error_cause, started_at, stopped_at, \
    last_event_id, fence, state_name, callback_secret";

/// A row as read, before it is checked.
struct RawRow {
    id: String,
    name: String,
    workflow: String,
    version: String,
    input: String,
    state: String,
    entry: i64,
    attempt: i64,
    retries: String,
    waiting: Option<String>,
    wake_at: Option<i64>,
    status: String,
    output: Option<String>,
    error_name: Option<String>,
    error_cause: Option<String>,
    started_at: i64,
    stopped_at: Option<i64>,
    last_event_id: i64,
    fence: i64,
    state_name: String,
    callback_secret: String,
}

fn raw(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: row.get(0)?,
        name: row.get(1)?,
        workflow: row.get(2)?,
        version: row.get(3)?,
        input: row.get(4)?,
        state: row.get(5)?,
        entry: row.get(6)?,
        attempt: row.get(7)?,
        retries: row.get(8)?,
        waiting: row.get(9)?,
        wake_at: row.get(10)?,
        status: row.get(11)?,
        output: row.get(12)?,
        error_name: row.get(13)?,
        error_cause: row.get(14)?,
        started_at: row.get(15)?,
        stopped_at: row.get(16)?,
        last_event_id: row.get(17)?,
        fence: row.get(18)?,
        state_name: row.get(19)?,
        callback_secret: row.get(20)?,
    })
}

impl RawRow {
    fn check(self) -> Result<StoredExecution, StoreError> {
        let corrupt = |what, detail: String| StoreError::Corrupt {
            execution: self.id.clone(),
            what,
            detail,
        };
        let status = Status::from_name(&self.status)
            .ok_or_else(|| corrupt("status", format!("unknown status `{}`", self.status)))?;
        let retries: Vec<u32> = serde_json::from_str(&self.retries)
            .map_err(|e| corrupt("retry counters", e.to_string()))?;
        let attempt = u32::try_from(self.attempt)
            .map_err(|_| corrupt("attempt", format!("{} is not an attempt", self.attempt)))?;
        let error = match (self.error_name, self.error_cause) {
            (Some(name), cause) => Some(ErrorInfo::new(name, cause.unwrap_or_default())),
            (None, _) => None,
        };
        Ok(StoredExecution {
            checkpoint: Checkpoint {
                state: self.state,
                state_name: self.state_name,
                entry: count(self.entry),
                attempt,
                retries,
                waiting: self.waiting,
                wake_at: self.wake_at.map(time),
                status,
                output: self.output,
                error,
            },
            id: self.id,
            name: self.name,
            workflow: self.workflow,
            version: self.version,
            input: self.input,
            started_at: time(self.started_at),
            stopped_at: self.stopped_at.map(time),
            last_event_id: count(self.last_event_id),
            fence: count(self.fence),
            callback_secret: self.callback_secret,
        })
    }
}

/// A one-row query through the connection's statement cache: the store
/// runs the same few statements for every job, and parsing them again
/// each time was a measurable share of the database thread.
fn query_cached<T, P: rusqlite::Params>(
    connection: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    connection.prepare_cached(sql)?.query_row(params, f)
}

/// A write through the connection's statement cache (see `query_cached`).
fn execute_cached<P: rusqlite::Params>(
    connection: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    connection.prepare_cached(sql)?.execute(params)
}

fn load(connection: &Connection, id: &str) -> Result<Option<StoredExecution>, StoreError> {
    let raw = query_cached(
        connection,
        &format!("SELECT {COLUMNS} FROM executions WHERE id = ?1"),
        [id],
        raw,
    )
    .optional()
    .map_err(database)?;
    raw.map(RawRow::check).transpose()
}

fn select(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredExecution>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(database)?;
    let rows = statement
        .query_map(params, raw)
        .map_err(database)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(database)?;
    rows.into_iter().map(RawRow::check).collect()
}

fn fence_of(connection: &Connection, id: &str) -> Result<u64, StoreError> {
    connection
        .prepare_cached("SELECT fence FROM executions WHERE id = ?1")
        .and_then(|mut select| select.query_row([id], |row| row.get::<_, i64>(0)))
        .optional()
        .map_err(database)?
        .map(count)
        .ok_or_else(|| StoreError::NotFound(id.to_owned()))
}

fn require_fence(connection: &Connection, id: &str, fence: u64) -> Result<(), StoreError> {
    let (current, status): (i64, String) = query_cached(
        connection,
        "SELECT fence, status FROM executions WHERE id = ?1",
        [id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )
    .optional()
    .map_err(database)?
    .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
    if count(current) != fence {
        return Err(StoreError::Fenced {
            execution: id.to_owned(),
            held: fence,
        });
    }
    if status != Status::Running.name() {
        return Err(StoreError::Ended(id.to_owned()));
    }
    Ok(())
}

/// Appends events (checked to follow the history) to an execution's.
fn insert_events(connection: &Connection, id: &str, events: &[Event]) -> Result<(), StoreError> {
    let mut insert = connection
        .prepare_cached(
            "INSERT INTO events (execution, id, previous_id, at, kind, state, data) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(database)?;
    for event in events {
        insert
            .execute(params![
                id,
                i64::try_from(event.id).unwrap_or(i64::MAX),
                i64::try_from(event.previous_event_id).unwrap_or(i64::MAX),
                nanos(event.timestamp),
                event.kind.name(),
                event.state,
                event.data,
            ])
            .map_err(database)?;
    }
    Ok(())
}

/// The completion stored for a callback token, if any.
fn stored_callback(
    connection: &Connection,
    token: &str,
) -> Result<Option<CallbackResult>, StoreError> {
    let row = query_cached(
        connection,
        "SELECT succeeded, output, error, cause FROM callbacks WHERE token = ?1",
        [token],
        |row| {
            Ok((
                row.get::<_, bool>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
            ))
        },
    )
    .optional()
    .map_err(database)?;
    Ok(row.map(|(succeeded, output, error, cause)| {
        if succeeded {
            CallbackResult::Succeeded(output.unwrap_or_default())
        } else {
            CallbackResult::Failed {
                error: error.unwrap_or_default(),
                cause: cause.unwrap_or_default(),
            }
        }
    }))
}

impl Store for SqliteStore {
    fn engine_stopped(&self) {
        self.engine_lock.release();
    }

    fn create(
        &self,
        execution: NewExecution,
        owner: &str,
        lease_until: SystemTime,
    ) -> StoreFuture<'_, Created> {
        // A client (a client-only engine) creates what it does not hold:
        // it drives nothing, so it takes no lock.
        let drives = lease_until > UNIX_EPOCH;
        if drives && let Err(error) = self.engine_lock.hold() {
            return Box::pin(std::future::ready(Err(error)));
        }
        let owner = owner.to_owned();
        self.run(move |connection| {
            let existing = query_cached(
                connection,
                &format!("SELECT {COLUMNS} FROM executions WHERE name = ?1"),
                [&execution.name],
                raw,
            )
            .optional()
            .map_err(database)?;
            if let Some(existing) = existing {
                return Ok(Created::Existing(Box::new(existing.check()?)));
            }
            let c = &execution.checkpoint;
            let retries = serde_json::to_string(&c.retries)
                .map_err(|e| StoreError::Database(e.to_string()))?;
            execute_cached(
                connection,
                "INSERT INTO executions (id, name, workflow, version, input, state, entry, \
                     attempt, retries, waiting, wake_at, status, output, error_name, error_cause, \
                     started_at, stopped_at, last_event_id, fence, lease_owner, lease_until, \
                     state_name, callback_secret) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                     ?16, NULL, 0, 1, ?17, ?18, ?19, ?20)",
                params![
                    execution.id,
                    execution.name,
                    execution.workflow,
                    execution.version,
                    execution.input,
                    c.state,
                    i64::try_from(c.entry).unwrap_or(i64::MAX),
                    i64::from(c.attempt),
                    retries,
                    c.waiting,
                    c.wake_at.map(nanos),
                    c.status.name(),
                    c.output,
                    c.error.as_ref().map(|e| e.name.as_str()),
                    c.error.as_ref().map(|e| e.cause.as_str()),
                    nanos(execution.started_at),
                    owner,
                    nanos(lease_until),
                    c.state_name,
                    execution.callback_secret,
                ],
            )
            .map_err(database)?;
            Ok(Created::New { fence: 1 })
        })
    }

    fn commit(&self, transition: Transition) -> StoreFuture<'_, ()> {
        self.run(move |connection| {
            let id = &transition.execution;
            let (fence, last, status, wake_at): (i64, i64, String, Option<i64>) = connection
                .prepare_cached(
                    "SELECT fence, last_event_id, status, wake_at FROM executions WHERE id = ?1",
                )
                .and_then(|mut select| {
                    select.query_row([id], |row| {
                        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
                    })
                })
                .optional()
                .map_err(database)?
                .ok_or_else(|| StoreError::NotFound(id.clone()))?;
            if count(fence) != transition.fence {
                return Err(StoreError::Fenced {
                    execution: id.clone(),
                    held: transition.fence,
                });
            }
            if status != Status::Running.name() {
                return Err(StoreError::Ended(id.clone()));
            }
            check_events(id, count(last), &transition.events)?;
            insert_events(connection, id, &transition.events)?;
            let c = &transition.checkpoint;
            let retries = serde_json::to_string(&c.retries)
                .map_err(|e| StoreError::Database(e.to_string()))?;
            let last_event_id = transition
                .events
                .last()
                .map_or(last, |e| i64::try_from(e.id).unwrap_or(i64::MAX));
            // Most transitions change neither the status nor the wake-up
            // time: leaving those columns out of the UPDATE spares SQLite
            // the two indexes they are in.
            let wake_at_now = c.wake_at.map(nanos);
            let update = if status == c.status.name() && wake_at == wake_at_now {
                UPDATE_CHECKPOINT
            } else {
                UPDATE_CHECKPOINT_AND_STATUS
            };
            connection
                .prepare_cached(update)
                .map_err(database)?
                .execute(params![
                    id,
                    c.state,
                    i64::try_from(c.entry).unwrap_or(i64::MAX),
                    i64::from(c.attempt),
                    retries,
                    c.waiting,
                    wake_at_now,
                    c.status.name(),
                    c.output,
                    c.error.as_ref().map(|e| e.name.as_str()),
                    c.error.as_ref().map(|e| e.cause.as_str()),
                    transition.stopped_at.map(nanos),
                    last_event_id,
                    c.state_name,
                ])
                .map_err(database)?;
            Ok(())
        })
    }

    fn commit_children(&self, transition: ChildTransition) -> StoreFuture<'_, ()> {
        self.run(move |connection| children::commit(connection, &transition))
    }

    fn children(&self, id: &str, entry: u64, attempt: u32) -> StoreFuture<'_, Vec<FinishedChild>> {
        let id = id.to_owned();
        self.run(move |connection| children::read(connection, &id, entry, attempt))
    }

    fn claim(&self, claim: Claim) -> StoreFuture<'_, Vec<StoredExecution>> {
        if let Err(error) = self.engine_lock.hold() {
            return Box::pin(std::future::ready(Err(error)));
        }
        self.run(move |connection| {
            let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
            // Three ranges of executions_claimable, each read in index
            // order (the due ones earliest first), so a claim reads only
            // what it takes, however many executions are parked.
            let ids: Vec<String> = connection
                .prepare_cached(
                    "SELECT id FROM executions WHERE status = 'Running' \
                     AND lease_until IS NULL AND wake_at IS NULL \
                     UNION ALL \
                     SELECT id FROM executions WHERE status = 'Running' \
                     AND lease_until IS NULL AND wake_at <= ?1 \
                     UNION ALL \
                     SELECT id FROM executions WHERE status = 'Running' \
                     AND lease_until <= ?2 AND (wake_at IS NULL OR wake_at <= ?1) \
                     LIMIT ?3",
                )
                .map_err(database)?
                .query_map(
                    params![nanos(claim.due_by), nanos(claim.leases_expired_by), limit],
                    |row| row.get(0),
                )
                .map_err(database)?
                .collect::<Result<_, _>>()
                .map_err(database)?;
            let mut claimed = Vec::with_capacity(ids.len());
            for id in ids {
                connection
                    .prepare_cached(
                        "UPDATE executions SET fence = fence + 1, lease_owner = ?2, \
                         lease_until = ?3 WHERE id = ?1",
                    )
                    .map_err(database)?
                    .execute(params![id, claim.owner, nanos(claim.lease_until)])
                    .map_err(database)?;
                if let Some(execution) = load(connection, &id)? {
                    claimed.push(execution);
                }
            }
            Ok(claimed)
        })
    }

    fn release(&self, execution: &str, fence: u64) -> StoreFuture<'_, ()> {
        let id = execution.to_owned();
        self.run(move |connection| {
            require_fence(connection, &id, fence)?;
            execute_cached(
                connection,
                "UPDATE executions SET lease_owner = NULL, lease_until = NULL WHERE id = ?1",
                [&id],
            )
            .map_err(database)?;
            Ok(())
        })
    }

    fn renew_leases(
        &self,
        held: Vec<(String, u64)>,
        lease_until: SystemTime,
    ) -> StoreFuture<'_, Vec<String>> {
        self.run(move |connection| {
            let mut renew = connection
                .prepare_cached(
                    "UPDATE executions SET lease_until = ?3 WHERE id = ?1 AND fence = ?2 \
                     AND status = 'Running' AND lease_until IS NOT NULL",
                )
                .map_err(database)?;
            let mut lost = Vec::new();
            for (id, fence) in held {
                let fence = i64::try_from(fence).unwrap_or(i64::MAX);
                let renewed = renew
                    .execute(params![id, fence, nanos(lease_until)])
                    .map_err(database)?;
                if renewed == 0 {
                    lost.push(id);
                }
            }
            Ok(lost)
        })
    }

    fn next_wake(&self, leases_expired_by: SystemTime) -> StoreFuture<'_, Option<SystemTime>> {
        self.run(move |connection| {
            let next: Option<i64> = query_cached(
                connection,
                "SELECT MIN(wake) FROM ( \
                     SELECT MIN(wake_at) AS wake FROM executions \
                     WHERE status = 'Running' AND lease_until IS NULL \
                     UNION ALL \
                     SELECT MIN(wake_at) FROM executions \
                     WHERE status = 'Running' AND lease_until <= ?1)",
                [nanos(leases_expired_by)],
                |row| row.get(0),
            )
            .map_err(database)?;
            Ok(next.map(time))
        })
    }

    fn execution_named(&self, name: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        let name = name.to_owned();
        self.run(move |connection| {
            let raw = query_cached(
                connection,
                &format!("SELECT {COLUMNS} FROM executions WHERE name = ?1"),
                [&name],
                raw,
            )
            .optional()
            .map_err(database)?;
            raw.map(RawRow::check).transpose()
        })
    }

    fn execution(&self, id: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        let id = id.to_owned();
        self.run(move |connection| load(connection, &id))
    }

    fn history(&self, id: &str) -> StoreFuture<'_, Vec<Event>> {
        let id = id.to_owned();
        self.run(move |connection| {
            fence_of(connection, &id)?;
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, previous_id, at, kind, state, data FROM events \
                     WHERE execution = ?1 ORDER BY id",
                )
                .map_err(database)?;
            let rows = statement
                .query_map([&id], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, Option<String>>(4)?,
                        row.get::<_, Option<String>>(5)?,
                    ))
                })
                .map_err(database)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(database)?;
            rows.into_iter()
                .map(|(event_id, previous, at, kind, state, data)| {
                    let kind = EventKind::from_name(&kind).ok_or_else(|| StoreError::Corrupt {
                        execution: id.clone(),
                        what: "history",
                        detail: format!("unknown event `{kind}`"),
                    })?;
                    Ok(Event {
                        id: count(event_id),
                        previous_event_id: count(previous),
                        timestamp: time(at),
                        kind,
                        state: state.map(Cow::Owned),
                        data,
                    })
                })
                .collect()
        })
    }

    fn list(&self, filter: Filter) -> StoreFuture<'_, Vec<StoredExecution>> {
        self.run(move |connection| {
            select(
                connection,
                &format!(
                    "SELECT {COLUMNS} FROM executions WHERE (?1 IS NULL OR workflow = ?1) \
                     AND (?2 IS NULL OR status = ?2) ORDER BY rowid"
                ),
                params![filter.workflow, filter.status.map(Status::name)],
            )
        })
    }

    fn purge(&self, ended_before: SystemTime, limit: usize) -> StoreFuture<'_, u64> {
        self.run(move |connection| purge::purge(connection, ended_before, limit))
    }

    fn complete_callback(
        &self,
        key: &str,
        result: CallbackResult,
    ) -> StoreFuture<'_, CallbackResult> {
        let token = key.to_owned();
        self.run(move |connection| {
            pending::answered(connection, &token)?;
            let (succeeded, output, error, cause) = match &result {
                CallbackResult::Succeeded(output) => (true, Some(output), None, None),
                CallbackResult::Failed { error, cause } => (false, None, Some(error), Some(cause)),
            };
            let inserted = execute_cached(
                connection,
                "INSERT INTO callbacks (token, succeeded, output, error, cause) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (token) DO NOTHING",
                params![token, succeeded, output, error, cause],
            )
            .map_err(database)?;
            if inserted == 1 {
                return Ok(result);
            }
            stored_callback(connection, &token)?.ok_or_else(|| {
                StoreError::Database(format!("callback `{token}` vanished while it was answered"))
            })
        })
    }

    fn callback(&self, key: &str) -> StoreFuture<'_, Option<CallbackResult>> {
        let key = key.to_owned();
        self.run(move |connection| stored_callback(connection, &key))
    }

    fn await_callback(&self, awaited: AwaitedCallback) -> StoreFuture<'_, ()> {
        self.run(move |connection| pending::awaited(connection, &awaited))
    }

    fn pending_callbacks(&self, query: PendingQuery) -> StoreFuture<'_, Vec<PendingRow>> {
        self.run(move |connection| pending::pending(connection, &query))
    }

    fn save_definition(&self, definition: StoredDefinition) -> StoreFuture<'_, ()> {
        self.run(move |connection| {
            execute_cached(
                connection,
                "INSERT INTO definitions (workflow, version, definition) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (workflow, version) DO NOTHING",
                params![
                    definition.workflow,
                    definition.version,
                    definition.definition
                ],
            )
            .map_err(database)?;
            Ok(())
        })
    }

    fn definitions(&self) -> StoreFuture<'_, Vec<StoredDefinition>> {
        self.run(|connection| {
            let mut statement = connection
                .prepare("SELECT workflow, version, definition FROM definitions ORDER BY rowid")
                .map_err(database)?;
            let rows = statement
                .query_map([], |row| {
                    Ok(StoredDefinition {
                        workflow: row.get(0)?,
                        version: row.get(1)?,
                        definition: row.get(2)?,
                    })
                })
                .map_err(database)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(database)?;
            Ok(rows)
        })
    }
}
