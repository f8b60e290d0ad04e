//! The embedded store: one SQLite file, written by one thread.
//!
//! Here: the store and its [`Store`] operations. Beside it: `worker` (the
//! database thread and group commit), `schema` (migrations), `rows`
//! (reading rows back, shared statements), `engine_lock` (one engine per
//! file), and `pending`, `children`, `purge` (those operations' own SQL).
//!
//! Every operation is a job sent to the database thread. The thread takes
//! all the jobs waiting and runs them in one transaction (group commit),
//! each inside its own savepoint so one job's failure (a stale fence, say)
//! does not undo its neighbours; replies go out only after the COMMIT, so a
//! caller never hears "done" for a write that a crash could still lose.
//! The file is in WAL mode with `synchronous = NORMAL`: a killed process
//! loses nothing committed; a power cut may lose the last transactions.
//! Checkpoints run on a thread of their own (`checkpointer`), so no commit
//! waits for one.

mod checkpointer;
mod children;
mod engine_lock;
mod pending;
mod purge;
mod rows;
mod schema;
mod worker;

use std::borrow::Cow;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

use self::engine_lock::EngineLock;
use self::rows::{
    COLUMNS, count, database, execute_cached, exists, insert_events, left_out, load, nanos,
    query_cached, select, stored_callback, time, writable,
};
use self::schema::prepare;
use self::worker::{Job, serve};
use super::{
    AwaitedCallback, CallbackResult, ChildTransition, Claim, Claimed, Created, Filter,
    FinishedChild, NewExecution, PendingQuery, PendingRow, Store, StoreError, StoreFuture,
    StoredDefinition, StoredExecution, Transition, check_events,
};
use crate::history::{Event, EventKind};
use crate::status::Status;

/// A commit's UPDATE when the status and wake-up time stay as they are
/// (?7 and ?8 go unused: a statement's parameters are numbered up to its
/// highest, so both statements take the same list).
const UPDATE_CHECKPOINT: &str = "UPDATE executions SET state = ?2, entry = ?3, attempt = ?4, \
     retries = ?5, waiting = ?6, output = ?9, error_name = ?10, error_cause = ?11, \
     stopped_at = COALESCE(?12, stopped_at), last_event_id = ?13, state_name = ?14, \
     callback = ?15 WHERE id = ?1";

/// A commit's UPDATE when the status or the wake-up time change.
const UPDATE_CHECKPOINT_AND_STATUS: &str = "UPDATE executions SET state = ?2, entry = ?3, \
     attempt = ?4, retries = ?5, waiting = ?6, wake_at = ?7, status = ?8, output = ?9, \
     error_name = ?10, error_cause = ?11, stopped_at = COALESCE(?12, stopped_at), \
     last_event_id = ?13, state_name = ?14, callback = ?15 WHERE id = ?1";

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
    /// caller's thread, so virtual time cannot run ahead of a write. (A
    /// service on a current-thread runtime waits the same way: prefer the
    /// multi-thread runtime there, which keeps group commit whole.)
    ///
    /// One engine at a time drives a file: the first store that creates
    /// (holding it) or claims an execution in it locks `<path>-engine.lock`
    /// until it is dropped or its engine stops, and another store's create or claim (another process's
    /// `recover` or `start`, say) fails with [`StoreError::Locked`] instead
    /// of taking over executions that are still running. Reading takes no
    /// lock: the `workflow` CLI can inspect a file a service is using.
    ///
    /// # Errors
    ///
    /// [`StoreError::Database`] if the file cannot be opened or is not a
    /// database; [`StoreError::NewerSchema`] if a newer version of this
    /// library wrote it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let mut connection = prepare(Connection::open(path).map_err(database)?)?;
        // Commits then never wait for a checkpoint; without the thread,
        // they run SQLite's own, as an inline store does.
        if let Err(error) =
            checkpointer::start(&mut connection, path, checkpointer::Limits::DEFAULT)
        {
            tracing::warn!(%error, "checkpoints stay on the database thread");
        }
        Self::threaded(connection, EngineLock::for_database(path))
    }

    /// A database in memory, for tests.
    ///
    /// # Errors
    ///
    /// [`StoreError::Database`] if SQLite cannot set it up.
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
    ///
    /// # Errors
    ///
    /// As [`open`](SqliteStore::open).
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
    ///
    /// # Errors
    ///
    /// [`StoreError::Database`] if SQLite refuses the setting.
    pub async fn set_busy_timeout(&self, timeout: Duration) -> Result<(), StoreError> {
        self.run(move |connection| connection.busy_timeout(timeout).map_err(database))
            .await
    }

    /// Caps the database at about `bytes` (in whole pages); a write past
    /// it fails with [`StoreError::Full`], as a full disk would.
    ///
    /// # Errors
    ///
    /// [`StoreError::Database`] if SQLite refuses the setting.
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

impl Store for SqliteStore {
    fn engine_started(&self) {
        self.engine_lock.reopen();
    }

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
                |row| Ok(rows::execution(row)),
            )
            .optional()
            .map_err(database)?;
            if let Some(existing) = existing {
                return Ok(Created::Existing(Box::new(existing?)));
            }
            let c = &execution.checkpoint;
            let retries = serde_json::to_string(&c.retries)
                .map_err(|e| StoreError::Database(e.to_string()))?;
            execute_cached(
                connection,
                "INSERT INTO executions (id, name, workflow, version, input, state, entry, \
                     attempt, retries, waiting, wake_at, status, output, error_name, error_cause, \
                     started_at, stopped_at, last_event_id, fence, lease_owner, lease_until, \
                     state_name, callback_secret, workflow_path, callback) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
                     ?16, NULL, 0, 1, ?17, ?18, ?19, ?20, ?21, ?22)",
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
                    execution.path,
                    c.callback.map(|callback| callback.encode()),
                ],
            )
            .map_err(database)?;
            Ok(Created::New { fence: 1 })
        })
    }

    fn commit(&self, transition: Transition) -> StoreFuture<'_, ()> {
        self.run(move |connection| {
            let id = &transition.execution;
            let stored = writable(connection, id, transition.fence)?;
            check_events(id, stored.last_event_id, &transition.events)?;
            insert_events(connection, id, &transition.events)?;
            let c = &transition.checkpoint;
            let retries = serde_json::to_string(&c.retries)
                .map_err(|e| StoreError::Database(e.to_string()))?;
            let last_event_id = transition
                .events
                .last()
                .map_or(stored.last_event_id, |e| e.id);
            let last_event_id = i64::try_from(last_event_id).unwrap_or(i64::MAX);
            // Most transitions change neither the status nor the wake-up
            // time: leaving those columns out of the UPDATE spares SQLite
            // the two indexes they are in.
            let wake_at_now = c.wake_at.map(nanos);
            // The stored status is Running (`writable` checked it).
            let update = if c.status == Status::Running && stored.wake_at == wake_at_now {
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
                    c.callback.map(|callback| callback.encode()),
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

    fn claim(&self, claim: Claim) -> StoreFuture<'_, Claimed> {
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
            let mut claimed = Claimed {
                executions: Vec::with_capacity(ids.len()),
                corrupt: Vec::new(),
            };
            for id in ids {
                connection
                    .prepare_cached(
                        "UPDATE executions SET fence = fence + 1, lease_owner = ?2, \
                         lease_until = ?3 WHERE id = ?1",
                    )
                    .map_err(database)?
                    .execute(params![id, claim.owner, nanos(claim.lease_until)])
                    .map_err(database)?;
                match load(connection, &id) {
                    Ok(execution) => claimed.executions.extend(execution),
                    Err(error) => claimed.corrupt.push(left_out(error)?),
                }
            }
            Ok(claimed)
        })
    }

    fn release(&self, execution: &str, fence: u64) -> StoreFuture<'_, ()> {
        let id = execution.to_owned();
        self.run(move |connection| {
            writable(connection, &id, fence)?;
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
            query_cached(
                connection,
                &format!("SELECT {COLUMNS} FROM executions WHERE name = ?1"),
                [&name],
                |row| Ok(rows::execution(row)),
            )
            .optional()
            .map_err(database)?
            .transpose()
        })
    }

    fn execution(&self, id: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        let id = id.to_owned();
        self.run(move |connection| load(connection, &id))
    }

    fn history(&self, id: &str) -> StoreFuture<'_, Vec<Event>> {
        let id = id.to_owned();
        self.run(move |connection| {
            if !exists(connection, &id)? {
                return Err(StoreError::NotFound(id));
            }
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

    fn wake_callback(
        &self,
        execution: &str,
        state: &str,
        entry: u64,
        wake_at: SystemTime,
    ) -> StoreFuture<'_, bool> {
        let (execution, state) = (execution.to_owned(), state.to_owned());
        self.run(move |connection| pending::wake(connection, &execution, &state, entry, wake_at))
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
