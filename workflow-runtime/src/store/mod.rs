//! Where executions live between steps: the [`Store`] trait, and the
//! in-memory and SQLite stores.
//!
//! The trait is shaped for many workers on many machines (the PostgreSQL
//! store to come): a worker *claims* an execution for a while (a lease), each
//! claim bumps the execution's *fence*, and every write carries the fence it
//! was claimed with, so a worker whose lease was taken over cannot write any
//! more. Each transition is one atomic [`Store::commit`]: the new checkpoint
//! (state value, counters, status, timer) and its history events together.
//! A Parallel branch or Map iteration that finishes is written the same way,
//! with [`Store::commit_children`]: its output and its events.

mod arc;
mod callbacks;
mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

pub use callbacks::{
    AwaitedCallback, CallbackResult, ParkedCallback, PendingQuery, PendingRow, callback_execution,
    unanswered,
};
pub use memory::MemoryStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

use crate::error_info::ErrorInfo;
use crate::history::Event;
use crate::status::Status;

/// What a store operation returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The write carried a fence older than the execution's: another worker
    /// has claimed it since. The writer must stop driving it.
    #[error("execution `{execution}` was claimed by another worker (fence {held} is stale)")]
    Fenced {
        /// The execution.
        execution: String,
        /// The fence the writer held.
        held: u64,
    },
    /// The write's events follow an event that is no longer where the
    /// history ends: another writer recorded a transition under the same
    /// fence since the writer read the execution (a cancel from another
    /// process racing the owner's next step, say). Nothing was written;
    /// read the execution again.
    #[error(
        "execution `{execution}` moved on: the write follows event {follows}, the history ends at event {ends_at}"
    )]
    HistoryMoved {
        /// The execution.
        execution: String,
        /// The event the write's first event follows.
        follows: u64,
        /// The event the stored history ends with.
        ends_at: u64,
    },
    /// No execution with this id.
    #[error("no execution `{0}`")]
    NotFound(String),
    /// The execution has ended (it was cancelled, say, while this writer
    /// still ran a step): an ended execution takes no more writes.
    #[error("execution `{0}` has ended and takes no more writes")]
    Ended(String),
    /// A row that cannot be read back as written.
    #[error("execution `{execution}` has a corrupt {what}: {detail}")]
    Corrupt {
        /// The execution.
        execution: String,
        /// Which part of it.
        what: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The database is locked by another process.
    #[error("the database is locked by another process: {0}")]
    Locked(String),
    /// The disk (or the database's size limit) is full.
    #[error("the disk is full: {0}")]
    Full(String),
    /// The database was written by a newer version of this library.
    #[error("the database has schema version {found}, newer than this library's {supported}")]
    NewerSchema {
        /// The schema version found.
        found: i64,
        /// The newest version this library knows.
        supported: i64,
    },
    /// The store is shut down.
    #[error("the store is closed")]
    Closed,
    /// The database cannot be reached now (the connection dropped, the
    /// server restarts): the operation may succeed when it is retried.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The store was set up with a value it cannot use (a schema name that
    /// is not an identifier, an unparsable connection string...).
    #[error("invalid store configuration: {0}")]
    Config(String),
    /// Any other failure of the database.
    #[error("database error: {0}")]
    Database(String),
}

/// One execution's progress as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The workflow's enum value, as JSON: the current state and its data.
    pub state: String,
    /// The name of the state the execution is in: the Wait state while it
    /// waits (even though `state` already holds the one after), the state
    /// it failed in once it failed.
    pub state_name: String,
    /// How many states the execution has entered before this one; part of
    /// the idempotency key.
    pub entry: u64,
    /// The attempt about to run (1 for the first).
    pub attempt: u32,
    /// Retries used per retrier of the current state.
    pub retries: Vec<u32>,
    /// The Wait state the execution is waiting in, if any (its exit is
    /// recorded when the timer fires).
    pub waiting: Option<String>,
    /// When the execution is due to continue (a wait, a retry backoff, or
    /// a deadline of the callback it is parked on).
    pub wake_at: Option<SystemTime>,
    /// The callback task the execution is parked on, if it left memory to
    /// wait for one (`wake_at` is then its nearest deadline).
    pub callback: Option<ParkedCallback>,
    /// Where it stands.
    pub status: Status,
    /// The output as JSON, once it succeeded.
    pub output: Option<String>,
    /// The error, once it failed.
    pub error: Option<ErrorInfo>,
}

/// An execution to create. Its `Debug` leaves the callback secret out.
#[derive(Clone, PartialEq)]
pub struct NewExecution {
    /// Its id.
    pub id: String,
    /// Its name, unique in the store.
    pub name: String,
    /// Its workflow's name.
    pub workflow: String,
    /// Its workflow's path ([`Workflow::path`](crate::Workflow::path)),
    /// which tells workflows of one name apart; `None` for a store's own
    /// tests, as for executions stored before paths were.
    pub path: Option<String>,
    /// Its workflow's version hash.
    pub version: String,
    /// Its input as JSON (compared on an idempotent start).
    pub input: String,
    /// Where it starts.
    pub checkpoint: Checkpoint,
    /// When it started.
    pub started_at: SystemTime,
    /// The random secret its callback tokens are made with (64 hex
    /// digits): kept with it so that a token is the same after a restart,
    /// and checked by whichever process answers it.
    pub callback_secret: String,
}

/// An execution as stored. Its `Debug` leaves the callback secret out.
#[derive(Clone, PartialEq)]
pub struct StoredExecution {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its workflow's name.
    pub workflow: String,
    /// Its workflow's path, if it was stored with one (see
    /// [`NewExecution::path`]).
    pub path: Option<String>,
    /// The version hash it was checkpointed under.
    pub version: String,
    /// Its input as JSON.
    pub input: String,
    /// Its latest checkpoint.
    pub checkpoint: Checkpoint,
    /// When it started.
    pub started_at: SystemTime,
    /// When it ended.
    pub stopped_at: Option<SystemTime>,
    /// The id of its last history event (0 if none).
    pub last_event_id: u64,
    /// The fence of its latest claim.
    pub fence: u64,
    /// The secret its callback tokens are made with (see
    /// [`NewExecution::callback_secret`]).
    pub callback_secret: String,
}

// By hand: whoever has an execution's secret can answer its callbacks, and
// a `{:?}` must not put it in a log.
impl std::fmt::Debug for NewExecution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewExecution")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("workflow", &self.workflow)
            .field("path", &self.path)
            .field("version", &self.version)
            .field("input", &self.input)
            .field("checkpoint", &self.checkpoint)
            .field("started_at", &self.started_at)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for StoredExecution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredExecution")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("workflow", &self.workflow)
            .field("path", &self.path)
            .field("version", &self.version)
            .field("input", &self.input)
            .field("checkpoint", &self.checkpoint)
            .field("started_at", &self.started_at)
            .field("stopped_at", &self.stopped_at)
            .field("last_event_id", &self.last_event_id)
            .field("fence", &self.fence)
            .finish_non_exhaustive()
    }
}

/// The result of [`Store::create`].
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    /// A new execution, claimed by the creator with this fence.
    New {
        /// The fence to write with.
        fence: u64,
    },
    /// An execution with that name already exists (compare its input).
    Existing(Box<StoredExecution>),
}

/// One transition, written atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The execution.
    pub execution: String,
    /// The fence it was claimed with.
    pub fence: u64,
    /// The new checkpoint.
    pub checkpoint: Checkpoint,
    /// The history events since the last transition, ids consecutive.
    pub events: Vec<Event>,
    /// When it ended, if this transition ends it.
    pub stopped_at: Option<SystemTime>,
}

/// A Parallel branch or Map iteration that finished, kept so that a run
/// that resumes the state reuses its output instead of running it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedChild {
    /// The entry of the Parallel or Map state it ran in (the parent's
    /// [`Checkpoint::entry`]).
    pub entry: u64,
    /// The attempt of that state it ran in: a retry of the state runs
    /// every child again, so children of an earlier attempt do not count.
    pub attempt: u32,
    /// The branch's or the item's position.
    pub index: u64,
    /// Its output, as JSON.
    pub output: String,
}

/// Finished children's checkpoint, written atomically: the children and
/// the history events recorded since the last write. The execution's own
/// checkpoint stays as it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildTransition {
    /// The parent execution.
    pub execution: String,
    /// The fence the parent was claimed with.
    pub fence: u64,
    /// The children that finished since the last write (one, or those
    /// that finished while the write before was in flight).
    pub children: Vec<FinishedChild>,
    /// The history events since the last write, ids consecutive.
    pub events: Vec<Event>,
}

/// Which executions to claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// Who claims.
    pub owner: String,
    /// Until when the claim holds.
    pub lease_until: SystemTime,
    /// Claim running executions due by then (no timer, or a timer at or
    /// before it).
    pub due_by: SystemTime,
    /// Take over leases that expire at or before this time. An embedded
    /// store recovering after a restart passes a time far ahead: the old
    /// process is gone.
    pub leases_expired_by: SystemTime,
    /// At most this many.
    pub limit: usize,
}

/// What a [`Store::claim`] took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claimed {
    /// The executions claimed, to drive.
    pub executions: Vec<StoredExecution>,
    /// The executions claimed whose rows cannot be read back, each a
    /// [`StoreError::Corrupt`] naming it and the column: they stay claimed
    /// (nobody can drive them), and whoever claimed them reports them.
    pub corrupt: Vec<StoreError>,
}

/// A workflow's definition as an engine that ran it stored it, so tools
/// that read the store (the `workflow` CLI) can draw and export it without
/// the Rust code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDefinition {
    /// The workflow's name.
    pub workflow: String,
    /// Its version hash, as executions record it.
    pub version: String,
    /// The [`Definition`](workflow_core::Definition) as JSON.
    pub definition: String,
}

/// Which executions to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only this workflow's.
    pub workflow: Option<String>,
    /// Only those with this status.
    pub status: Option<Status>,
}

/// Durable storage of executions and their histories.
///
/// Implementations must make [`commit`](Store::commit) atomic (checkpoint
/// and events together, or neither), reject a stale fence
/// ([`StoreError::Fenced`]) and refuse any write to an execution that has
/// ended ([`StoreError::Ended`]).
pub trait Store: Send + Sync + 'static {
    /// Creates an execution, claimed by `owner` until `lease_until`, unless
    /// one with the same name exists, which is returned instead.
    fn create(
        &self,
        execution: NewExecution,
        owner: &str,
        lease_until: SystemTime,
    ) -> StoreFuture<'_, Created>;

    /// Writes one transition, if `transition.fence` is still current.
    fn commit(&self, transition: Transition) -> StoreFuture<'_, ()>;

    /// Writes finished children and their events, under the same rules as
    /// [`commit`](Store::commit): the fence must be current, the execution
    /// running, the events must follow its history. A second write of the
    /// same child (entry, attempt and index) replaces its output.
    fn commit_children(&self, transition: ChildTransition) -> StoreFuture<'_, ()>;

    /// The children of execution `id` that finished in attempt `attempt`
    /// of its state entry `entry`, in index order. A store may drop an
    /// execution's children once it has ended (nothing resumes it then);
    /// a purge drops them with the execution.
    fn children(&self, id: &str, entry: u64, attempt: u32) -> StoreFuture<'_, Vec<FinishedChild>>;

    /// Claims due, unclaimed running executions, bumping each one's fence:
    /// at most `claim.limit`.
    ///
    /// Which ones a claim takes first when more than `limit` are due, and
    /// the order it returns them in, is the store's choice: the memory
    /// store takes the earliest due first; the SQLite store reads its
    /// claim index, due-less ones first, then by wake-up time.
    ///
    /// An execution whose row cannot be read back (a corrupt column) is
    /// claimed too, and returned in [`Claimed::corrupt`] instead of
    /// [`Claimed::executions`], so one bad row does not stop the claim of
    /// the others. It stays claimed, as an execution recovery cannot
    /// resume does, so a timer loop does not take it again and again.
    fn claim(&self, claim: Claim) -> StoreFuture<'_, Claimed>;

    /// Gives up a claim (the execution is parked on a timer), if `fence` is
    /// still current.
    fn release(&self, execution: &str, fence: u64) -> StoreFuture<'_, ()>;

    /// Extends the leases of the executions in `held` (id and the fence
    /// they were claimed with) to `lease_until`, and returns the ids of
    /// those it could not: taken over since (the fence moved on), ended,
    /// released or gone. A worker calls it for the executions it drives,
    /// while it lives, so that only the executions of a worker that died
    /// (or stalled past its lease) become claimable by others; it stops
    /// driving the ones it lost. A `lease_until` in the past gives the
    /// leases up.
    fn renew_leases(
        &self,
        held: Vec<(String, u64)>,
        lease_until: SystemTime,
    ) -> StoreFuture<'_, Vec<String>>;

    /// The earliest timer of a running execution that nobody holds (no
    /// lease, or one expired by `leases_expired_by`): when the next parked
    /// execution is due.
    fn next_wake(&self, leases_expired_by: SystemTime) -> StoreFuture<'_, Option<SystemTime>>;

    /// The execution with this id.
    fn execution(&self, id: &str) -> StoreFuture<'_, Option<StoredExecution>>;

    /// The execution started under this name (names are unique in a store).
    fn execution_named(&self, name: &str) -> StoreFuture<'_, Option<StoredExecution>>;

    /// The history of the execution with this id, in order.
    fn history(&self, id: &str) -> StoreFuture<'_, Vec<Event>>;

    /// The executions that pass the filter, in start order. One whose row
    /// cannot be read back is left out, and logged at error level with
    /// its id and the column; reading it by id gives [`StoreError::Corrupt`].
    fn list(&self, filter: Filter) -> StoreFuture<'_, Vec<StoredExecution>>;

    /// Deletes at most `limit` executions that have ended (any status but
    /// [`Status::Running`]) at a time before `ended_before`, with their
    /// histories and their callback answers, and returns how many it
    /// deleted. A running execution is never deleted, however old it is;
    /// nor is an ended one that has no stop time.
    ///
    /// A deleted execution is gone for every read: [`execution`](Store::execution)
    /// gives `None`, [`history`](Store::history) [`StoreError::NotFound`],
    /// [`list`](Store::list) leaves it out, and its name is free for a new
    /// start. Its callback answers are those whose key's part before the
    /// first `/` is its id (see [`callback_execution`]), the rule by which
    /// the engine finds the execution a key belongs to; its awaited
    /// callbacks are those recorded with its id.
    ///
    /// Which executions a call takes when more than `limit` qualify is the
    /// store's choice. To delete all that qualify, call again until a call
    /// deletes fewer than `limit`, as [`Engine::purge`](crate::Engine::purge)
    /// does: each call is one short transaction, so a purge of millions
    /// never holds the store for long.
    fn purge(&self, ended_before: SystemTime, limit: usize) -> StoreFuture<'_, u64>;

    /// Records how the callback task with this key (see
    /// [`AwaitedCallback`]) was completed, and returns the completion that
    /// stands: the first one. A later one is not written; its caller
    /// compares what comes back with what it sent. The task is pending no
    /// more: its [`AwaitedCallback`] may be deleted.
    fn complete_callback(
        &self,
        key: &str,
        result: CallbackResult,
    ) -> StoreFuture<'_, CallbackResult>;

    /// Sets the wake-up time of execution `execution` if it is parked on a
    /// callback (its checkpoint has a [`ParkedCallback`]) at entry `entry`
    /// of state `state`, and says whether it was: an answer wakes it now, a
    /// heartbeat moves its deadline ahead. Fences and leases are left as
    /// they are; a store shared by processes tells the others that work may
    /// be due, as for a commit that sets a timer.
    fn wake_callback(
        &self,
        execution: &str,
        state: &str,
        entry: u64,
        wake_at: SystemTime,
    ) -> StoreFuture<'_, bool>;

    /// How the callback task with this key was completed, if it was.
    fn callback(&self, key: &str) -> StoreFuture<'_, Option<CallbackResult>>;

    /// Records that a callback task waits, unless its key is recorded
    /// already (a task that waits again after a restart keeps its first
    /// record, and so when it started waiting). Each record gets the next
    /// sequence number of the store.
    fn await_callback(&self, awaited: AwaitedCallback) -> StoreFuture<'_, ()>;

    /// The recorded callbacks that still wait, in sequence order from
    /// `query.after` on, at most `query.limit`: those whose execution is
    /// running with its checkpoint at their anchor (state and entry) and
    /// whose key has no completion. [`purge`](Store::purge) deletes the
    /// records of the executions it deletes.
    fn pending_callbacks(&self, query: PendingQuery) -> StoreFuture<'_, Vec<PendingRow>>;

    /// Keeps a workflow's definition; one already kept for the same
    /// workflow and version is left as it is.
    fn save_definition(&self, definition: StoredDefinition) -> StoreFuture<'_, ()>;

    /// Every kept definition, in the order they were first kept.
    fn definitions(&self) -> StoreFuture<'_, Vec<StoredDefinition>>;

    /// The wake-up channel: completes when another worker may have made
    /// work due here (a PostgreSQL store would LISTEN for a NOTIFY sent on
    /// each commit that sets a timer or releases a claim). `None`, the
    /// default, means no such channel: the engine hears its own parks
    /// directly and polls for the rest.
    fn wake_up(&self) -> Option<StoreFuture<'_, ()>> {
        None
    }

    /// Whether other processes use the store at the same time (a database
    /// server, as opposed to an embedded file or memory). The engine then
    /// holds executions on leases that expire unless it renews them, so a
    /// dead worker's executions pass to the living. `false`, the default,
    /// means one process at a time: the engine holds what it claims until
    /// it parks it or the process ends, and [`Engine::recover`](crate::Engine::recover)
    /// takes over everything.
    fn is_shared(&self) -> bool {
        false
    }

    /// An engine that drives executions was built over the store (a
    /// client-only one does not count). A store that admits one engine at
    /// a time takes that engine's creates and claims again after an
    /// [`engine_stopped`](Store::engine_stopped). The default does nothing.
    fn engine_started(&self) {}

    /// The engine driving executions from the store has stopped
    /// ([`Engine::shutdown`](crate::Engine::shutdown) or
    /// [`Engine::halt`](crate::Engine::halt)) and drives nothing more from
    /// this process. A store that admits one engine at a time (the SQLite
    /// store's file lock) lets another take over, as it would after a
    /// crash, and refuses the creates and claims that were still under way
    /// in the stopped engine until the next
    /// [`engine_started`](Store::engine_started). The default does nothing.
    fn engine_stopped(&self) {}
}

/// Checks that `events` continue a stored history whose last event is
/// `last_event_id`, one by one: what every store must refuse before it
/// writes a transition.
///
/// # Errors
///
/// [`StoreError::HistoryMoved`] if the first event follows an earlier
/// event than the history's last (the writer read the execution before
/// another write), and [`StoreError::Corrupt`] naming the first event that
/// does not follow the one before it.
pub fn check_events(
    execution: &str,
    last_event_id: u64,
    events: &[Event],
) -> Result<(), StoreError> {
    if let Some(first) = events.first()
        && first.id == first.previous_event_id + 1
        && first.previous_event_id < last_event_id
    {
        return Err(StoreError::HistoryMoved {
            execution: execution.to_owned(),
            follows: first.previous_event_id,
            ends_at: last_event_id,
        });
    }
    let mut previous = last_event_id;
    for event in events {
        if event.id != previous + 1 || event.previous_event_id != previous {
            return Err(StoreError::Corrupt {
                execution: execution.to_owned(),
                what: "history",
                detail: format!(
                    "event {} (after {}) does not follow event {previous}",
                    event.id, event.previous_event_id
                ),
            });
        }
        previous = event.id;
    }
    Ok(())
}
