//! The engine: many executions at once, each written to a store at every
//! transition, on whatever tokio runtime it is used from.

mod handle;
mod ids;
mod record;
mod recorder;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use futures_util::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use workflow_core::Definition;

use self::ids::Ids;
use crate::callback::{CallbackLink, CallbackState, Callbacks};
use crate::clock::Clock;
use crate::driver::{Progress, Ran, Runner};
use crate::error::ExecutionError;
use crate::history::{Event, EventKind};
use crate::store::{
    CallbackResult, Checkpoint, Claim, Created, Filter, MemoryStore, NewExecution, Store,
    StoreError, StoredDefinition, StoredExecution, Transition,
};
use crate::workflow::Workflow;

pub use crate::status::Status;
pub use handle::ExecutionHandle;
pub use record::Description;

use recorder::DurableRecorder;

/// The engine's maps, looked up by execution id a few times per execution:
/// foldhash, seeded at random per map (ids and names can come from users),
/// rather than the slower SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Limits that keep one execution from taking the engine down with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest serialized state data or output, in bytes; past it the
    /// execution fails with `States.DataLimitExceeded`, which no catcher
    /// catches. Default: 256 KiB.
    pub payload_bytes: usize,
    /// The most history events one execution may have; past it the
    /// execution fails with `States.HistoryLimitExceeded`. Default: 25,000.
    pub history_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            payload_bytes: 256 * 1024,
            history_events: 25_000,
        }
    }
}

/// What [`Engine::recover`] does with an execution checkpointed under
/// another version of its workflow's definition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VersionPolicy {
    /// Leave it as it is, and report it: deploy the old version to finish
    /// it, or decide later.
    #[default]
    Park,
    /// Fail it with `States.VersionMismatch`.
    Fail,
}

/// Why the engine refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// `start` for a workflow that was never registered.
    #[error(
        "workflow `{0}` is not registered with this engine: call `engine.register::<{0}>()` first"
    )]
    NotRegistered(String),
    /// `start` under a name that an execution with another input (or of
    /// another workflow) already has.
    #[error(
        "an execution named `{name}` already exists with a different input or workflow (id {existing})"
    )]
    NameConflict {
        /// The name asked for.
        name: String,
        /// The existing execution's id.
        existing: String,
    },
    /// `start` outside a tokio runtime.
    #[error("the engine starts executions on a tokio runtime, and none is running here")]
    NoRuntime,
    /// The input or a state's data could not be serialized.
    #[error("cannot serialize the execution's data: {0}")]
    Serialize(String),
    /// A callback token of no running execution.
    #[error("no running execution has the task token `{0}`")]
    UnknownToken(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why [`Engine::recover`] left an execution where it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecoveryError {
    /// Its workflow is not registered with this engine.
    #[error("execution `{execution}` belongs to workflow `{workflow}`, which is not registered")]
    Unregistered {
        /// The execution.
        execution: String,
        /// Its workflow.
        workflow: String,
    },
    /// It was checkpointed under another version of its workflow.
    #[error(
        "execution `{execution}` was checkpointed under version {stored} of `{workflow}`, \
         but this build's is {current}"
    )]
    VersionMismatch {
        /// The execution.
        execution: String,
        /// Its workflow.
        workflow: String,
        /// The version it was checkpointed under.
        stored: String,
        /// This build's version.
        current: String,
    },
    /// Its checkpoint no longer deserializes as the workflow's enum.
    #[error("execution `{execution}` cannot be read back: {detail}")]
    Unreadable {
        /// The execution.
        execution: String,
        /// What failed.
        detail: String,
    },
}

/// What [`Engine::recover`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// The ids of the executions resumed.
    pub resumed: Vec<String>,
    /// The executions left alone, and why.
    pub skipped: Vec<RecoveryError>,
}

/// Runs many executions concurrently with Step Functions semantics, writes
/// each transition to its store, and resumes open executions after a
/// restart.
///
/// One engine serves one context type: every registered workflow's handlers
/// share the context given to [`Engine::new`]. Cloning an engine is cheap and
/// gives another handle to the same executions.
pub struct Engine<C> {
    shared: Arc<Shared<C>>,
}

impl<C> Clone for Engine<C> {
    fn clone(&self) -> Self {
        Engine {
            shared: Arc::clone(&self.shared),
        }
    }
}

type ResumeFn<C> = fn(&Engine<C>, StoredExecution) -> Result<(), RecoveryError>;

struct Registered<C> {
    version: String,
    resume: ResumeFn<C>,
    /// The workflow's and its children's definitions, until the first start
    /// has kept them in the store.
    unsaved: Vec<StoredDefinition>,
}

struct Shared<C> {
    context: C,
    limits: Limits,
    seed: Option<u64>,
    versions: VersionPolicy,
    owner: String,
    /// The one clock of every time the engine records.
    clock: Clock,
    store: Arc<dyn Store>,
    registry: Mutex<HashMap<String, Registered<C>>>,
    live: Mutex<HashMap<String, Live>>,
    /// Waits longer than this park: their task ends and the timer loop
    /// resumes them. `None` keeps every wait in memory.
    park_after: Option<Duration>,
    timers: Mutex<Option<AbortHandle>>,
    /// Tells the timer loop an execution parked (maybe earlier than it
    /// planned to wake).
    wake: tokio::sync::Notify,
    callbacks: Arc<CallbackHub>,
    ids: Ids,
}

/// Callback tasks waiting in this process, by token.
struct CallbackHub {
    store: Arc<dyn Store>,
    waiters: Mutex<HashMap<String, watch::Sender<CallbackState>>>,
}

impl CallbackHub {
    /// Tells a waiting task, if one waits here.
    fn notify(&self, token: &str, change: impl FnOnce(&mut CallbackState)) {
        if let Some(waiter) = lock(&self.waiters).get(token) {
            waiter.send_modify(change);
        }
    }
}

impl Callbacks for CallbackHub {
    fn subscribe(&self, token: &str) -> watch::Receiver<CallbackState> {
        lock(&self.waiters)
            .entry(token.to_owned())
            .or_insert_with(|| watch::channel(CallbackState::default()).0)
            .subscribe()
    }

    fn unsubscribe(&self, token: &str) {
        lock(&self.waiters).remove(token);
    }

    fn stored(&self, token: &str) -> crate::store::StoreFuture<'_, Option<CallbackResult>> {
        self.store.callback(token)
    }
}

/// An execution this engine is driving, or that someone is waiting for.
struct Live {
    cancel: watch::Sender<bool>,
    done: watch::Sender<Option<Result<(), ExecutionError>>>,
    task: Option<AbortHandle>,
}

impl Live {
    fn new() -> Self {
        Live {
            cancel: watch::channel(false).0,
            done: watch::channel(None).0,
            task: None,
        }
    }

    /// Whether the task calling this is the one driving the execution.
    fn runs_this_task(&self) -> bool {
        self.task.as_ref().map(AbortHandle::id) == tokio::task::try_id()
    }
}

/// Builds an [`Engine`].
pub struct EngineBuilder<C> {
    context: C,
    limits: Limits,
    seed: Option<u64>,
    versions: VersionPolicy,
    store: Arc<dyn Store>,
    clock: Option<Clock>,
    park_after: Option<Duration>,
}

impl<C: Send + Sync + 'static> EngineBuilder<C> {
    /// Waits and retry backoffs longer than this leave memory: the deadline
    /// stays in the store and the engine's timer resumes the execution
    /// when it is due. Default: 5 s. `None` keeps every wait in memory.
    pub fn park_after(mut self, park_after: Option<Duration>) -> Self {
        self.park_after = park_after;
        self
    }

    /// The clock to run on. Engines that share a store should share a clock
    /// in tests, where tokio's paused time would otherwise put each engine's
    /// wall time at a different place.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Sets the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Seeds retry jitter, so delays repeat from run to run.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Where executions are written; [`MemoryStore`] by default.
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// What recovery does with executions of another definition version.
    pub fn on_version_mismatch(mut self, policy: VersionPolicy) -> Self {
        self.versions = policy;
        self
    }

    /// The engine.
    pub fn build(self) -> Engine<C> {
        let callbacks = Arc::new(CallbackHub {
            store: Arc::clone(&self.store),
            waiters: Mutex::default(),
        });
        Engine {
            shared: Arc::new(Shared {
                context: self.context,
                limits: self.limits,
                seed: self.seed,
                versions: self.versions,
                owner: format!("engine-{:016x}", fastrand::u64(..)),
                clock: self.clock.unwrap_or_default(),
                store: self.store,
                registry: Mutex::default(),
                live: Mutex::default(),
                park_after: self.park_after,
                timers: Mutex::default(),
                wake: tokio::sync::Notify::new(),
                callbacks,
                ids: Ids::default(),
            }),
        }
    }
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind
    // (maps that are always updated whole), so it stays usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A lease that lasts as long as this process: embedded stores have one
/// writer, and recovery takes over whatever a dead process held.
fn forever() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 8)
}

/// The version hash of a definition: its transition table and data types.
pub fn version_of(def: &Definition) -> String {
    let json = serde_json::to_string(def).unwrap_or_default();
    format!("{:016x}", crate::hash::fnv1a(&json))
}

impl<C: Send + Sync + 'static> Engine<C> {
    /// An engine whose handlers share `context`, with default limits and an
    /// in-memory store.
    pub fn new(context: C) -> Self {
        Engine::builder(context).build()
    }

    /// A builder, to set the store, limits or a jitter seed.
    pub fn builder(context: C) -> EngineBuilder<C> {
        EngineBuilder {
            context,
            limits: Limits::default(),
            seed: None,
            versions: VersionPolicy::default(),
            store: Arc::new(MemoryStore::new()),
            clock: None,
            park_after: Some(Duration::from_secs(5)),
        }
    }

    /// The shared context.
    pub fn context(&self) -> &C {
        &self.shared.context
    }

    /// The store executions are written to.
    pub fn store(&self) -> &dyn Store {
        &*self.shared.store
    }

    /// Makes workflow `W` startable and recoverable on this engine.
    ///
    /// The enum and its output are written to the store at every
    /// transition, so they must be `Serialize` and `DeserializeOwned`.
    pub fn register<W>(&self) -> &Self
    where
        W: Workflow<Context = C> + Serialize + DeserializeOwned,
        W::Output: Serialize + DeserializeOwned,
    {
        let def = W::definition();
        lock(&self.shared.registry).insert(
            def.name.to_string(),
            Registered {
                version: version_of(def),
                resume: resume::<C, W>,
                unsaved: std::iter::once(def)
                    .chain(W::children())
                    .map(|def| StoredDefinition {
                        workflow: def.name.to_string(),
                        version: version_of(def),
                        // A definition is plain strings and numbers: its
                        // JSON cannot fail, as `version_of` relies on too.
                        definition: serde_json::to_string(def).unwrap_or_default(),
                    })
                    .collect(),
            },
        );
        self
    }

    /// Starts an execution of `W` named `name` on the current tokio runtime.
    ///
    /// Starting is idempotent: if an execution of `W` with this name and
    /// the same input exists, its handle is returned and nothing new runs;
    /// with another input, the start is refused with
    /// [`EngineError::NameConflict`].
    pub async fn start<W>(
        &self,
        name: impl Into<String>,
        input: W::Input,
    ) -> Result<ExecutionHandle<W>, EngineError>
    where
        W: Workflow<Context = C> + Serialize + DeserializeOwned,
        W::Input: Serialize,
        W::Output: Serialize + DeserializeOwned,
    {
        let def = W::definition();
        let (version, unsaved) = match lock(&self.shared.registry).get_mut(&*def.name) {
            Some(registered) => (
                registered.version.clone(),
                std::mem::take(&mut registered.unsaved),
            ),
            None => return Err(EngineError::NotRegistered(def.name.to_string())),
        };
        tokio::runtime::Handle::try_current().map_err(|_| EngineError::NoRuntime)?;
        // The first start keeps the definitions, so tools reading the store
        // can draw what ran. Saving twice (a start racing this one, another
        // process) is harmless.
        for (kept, definition) in unsaved.iter().enumerate() {
            if let Err(error) = self.shared.store.save_definition(definition.clone()).await {
                if let Some(registered) = lock(&self.shared.registry).get_mut(&*def.name) {
                    registered.unsaved = unsaved[kept..].to_vec();
                }
                return Err(error.into());
            }
        }
        let name = name.into();
        let input_json = json(&input)?;
        let checkpoint = W::start(input);
        let state = json(&checkpoint)?;
        let clock = self.shared.clock;
        let id = self.shared.ids.next(clock.now());
        let new = NewExecution {
            id: id.clone(),
            name: name.clone(),
            workflow: def.name.to_string(),
            version,
            input: input_json.clone(),
            checkpoint: Checkpoint {
                state: state.clone(),
                state_name: checkpoint.state_name().to_owned(),
                entry: 0,
                attempt: 1,
                retries: Vec::new(),
                waiting: None,
                wake_at: None,
                status: Status::Running,
                output: None,
                error: None,
            },
            started_at: clock.now(),
        };
        let store = &self.shared.store;
        match store.create(new, &self.shared.owner, forever()).await? {
            Created::New { fence } => {
                let progress = Progress {
                    attempt: 1,
                    ..Progress::default()
                };
                let run = Run {
                    id: id.clone(),
                    name: &name,
                    state,
                    fence,
                    last_event_id: 0,
                    elapsed: Duration::ZERO,
                };
                self.spawn::<W>(run, checkpoint, progress);
                Ok(ExecutionHandle::new(id, self.clone()))
            }
            Created::Existing(existing) => {
                if existing.workflow == *def.name && existing.input == input_json {
                    Ok(ExecutionHandle::new(existing.id, self.clone()))
                } else {
                    Err(EngineError::NameConflict {
                        name,
                        existing: existing.id,
                    })
                }
            }
        }
    }

    /// A handle to an existing execution of `W`, to await or cancel it.
    pub fn handle<W: Workflow<Context = C>>(&self, id: impl Into<String>) -> ExecutionHandle<W>
    where
        W::Output: DeserializeOwned,
    {
        ExecutionHandle::new(id.into(), self.clone())
    }

    /// Resumes every open execution in the store from its last checkpoint:
    /// after a restart, call it once the workflows are registered. A task
    /// that was running when the process died runs again, with the same
    /// idempotency key; a wait or a backoff sleeps only what is left of it.
    pub async fn recover(&self) -> Result<Recovery, EngineError> {
        let claimed = self
            .shared
            .store
            .claim(Claim {
                owner: self.shared.owner.clone(),
                lease_until: forever(),
                due_by: forever(),
                leases_expired_by: forever(),
                limit: usize::MAX,
            })
            .await?;
        let mut recovery = Recovery::default();
        for execution in claimed {
            let id = execution.id.clone();
            if lock(&self.shared.live)
                .get(&id)
                .is_some_and(|l| l.task.as_ref().is_some_and(|t| !t.is_finished()))
            {
                continue;
            }
            match self.resume_claimed(execution).await? {
                None => recovery.resumed.push(id),
                Some(problem) => recovery.skipped.push(problem),
            }
        }
        self.ensure_timers();
        Ok(recovery)
    }

    /// Ends an execution that cannot be resumed, as failed, in the store.
    async fn fail_unresumable(
        &self,
        execution: &StoredExecution,
        error: &str,
        problem: &RecoveryError,
    ) -> Result<(), EngineError> {
        let cause = problem.to_string();
        let data = serde_json::json!({ "error": error, "cause": cause }).to_string();
        let error = crate::ErrorInfo::new(error, cause);
        self.end_stored(
            execution,
            Status::Failed,
            error,
            EventKind::ExecutionFailed,
            Some(data),
        )
        .await
    }

    /// Ends an execution nobody is driving, in the store: its status, its
    /// error, and the one event that closes its history.
    async fn end_stored(
        &self,
        stored: &StoredExecution,
        status: Status,
        error: crate::ErrorInfo,
        kind: EventKind,
        data: Option<String>,
    ) -> Result<(), EngineError> {
        let clock = self.shared.clock;
        let mut checkpoint = stored.checkpoint.clone();
        checkpoint.status = status;
        checkpoint.wake_at = None;
        checkpoint.error = Some(error);
        let previous = stored.last_event_id;
        let event = Event {
            id: previous + 1,
            previous_event_id: previous,
            timestamp: clock.now(),
            kind,
            state: None,
            data,
        };
        self.shared
            .store
            .commit(Transition {
                execution: stored.id.clone(),
                fence: stored.fence,
                checkpoint,
                events: vec![event],
                stopped_at: Some(clock.now()),
            })
            .await?;
        Ok(())
    }

    /// Stops driving every execution at once, writing nothing more: what a
    /// crash does. The store keeps their last checkpoints for
    /// [`recover`](Engine::recover).
    pub fn halt(&self) {
        if let Some(timers) = lock(&self.shared.timers).take() {
            timers.abort();
        }
        for live in lock(&self.shared.live).values_mut() {
            if let Some(task) = live.task.take() {
                task.abort();
            }
        }
    }

    /// The execution with this id, described.
    pub async fn describe(&self, id: &str) -> Result<Option<Description>, EngineError> {
        Ok(self
            .shared
            .store
            .execution(id)
            .await?
            .map(Description::from))
    }

    /// The executions of `workflow` (all workflows if `None`) whose status is
    /// `status` (any if `None`), in start order.
    pub async fn list(
        &self,
        workflow: Option<&str>,
        status: Option<Status>,
    ) -> Result<Vec<Description>, EngineError> {
        let filter = Filter {
            workflow: workflow.map(str::to_owned),
            status,
        };
        let list = self.shared.store.list(filter).await?;
        Ok(list.into_iter().map(Description::from).collect())
    }

    /// Completes the callback task waiting on `token` with `output` (Step
    /// Functions' SendTaskSuccess). Stored first, so a task that is not
    /// waiting right now (the process restarts) finds it when it runs again.
    pub async fn complete_task(
        &self,
        token: &str,
        output: impl Serialize,
    ) -> Result<(), EngineError> {
        let result = CallbackResult::Succeeded(json(&output)?);
        self.answer(token, result).await
    }

    /// Fails the callback task waiting on `token` (SendTaskFailure): its
    /// `cx.callback()` returns `CallbackError::Failed` with this error and
    /// cause.
    pub async fn fail_task(
        &self,
        token: &str,
        error: impl Into<String>,
        cause: impl Into<String>,
    ) -> Result<(), EngineError> {
        let result = CallbackResult::Failed {
            error: error.into(),
            cause: cause.into(),
        };
        self.answer(token, result).await
    }

    /// Stores a callback's answer, then hands it to a task waiting here.
    async fn answer(&self, token: &str, result: CallbackResult) -> Result<(), EngineError> {
        self.running_token(token).await?;
        self.shared
            .store
            .complete_callback(token, result.clone())
            .await?;
        self.shared
            .callbacks
            .notify(token, |state| state.result = Some(result));
        Ok(())
    }

    /// A heartbeat for the callback task waiting on `token`
    /// (SendTaskHeartbeat): it counts against the state's `heartbeat`.
    pub async fn heartbeat_task(&self, token: &str) -> Result<(), EngineError> {
        self.running_token(token).await?;
        self.shared
            .callbacks
            .notify(token, |state| state.heartbeats += 1);
        Ok(())
    }

    /// Checks that a token belongs to a running execution of this store.
    async fn running_token(&self, token: &str) -> Result<(), EngineError> {
        // A token is an idempotency key: it starts with the id of the
        // execution (a branch's key starts with its root execution's id).
        let execution = token.split('/').next().unwrap_or_default();
        match self.shared.store.execution(execution).await? {
            Some(stored) if stored.checkpoint.status == Status::Running => Ok(()),
            _ => Err(EngineError::UnknownToken(token.to_owned())),
        }
    }

    /// The history of the execution with this id.
    pub async fn history(&self, id: &str) -> Result<Vec<Event>, EngineError> {
        Ok(self.shared.store.history(id).await?)
    }

    /// Drives an execution from `checkpoint` on, in a task of its own.
    fn spawn<W>(&self, run: Run<'_>, checkpoint: W, progress: Progress)
    where
        W: Workflow<Context = C> + Serialize + DeserializeOwned,
        W::Output: Serialize + DeserializeOwned,
    {
        let Run {
            id,
            name,
            state,
            fence,
            last_event_id,
            elapsed,
        } = run;
        // Held until the task's handle is in the entry: an entry without
        // a running task may be forgotten (see `forget_idle`), and this
        // task's cancel signal lives in it.
        let mut live = lock(&self.shared.live);
        let entry = live.entry(id.clone()).or_insert_with(Live::new);
        // Cleared only if a cancel is left from an earlier run: sending
        // wakes every waiter of the channel, on every start.
        entry.cancel.send_if_modified(std::mem::take);
        let (cancelled, done) = (entry.cancel.subscribe(), entry.done.clone());
        let shared = Arc::clone(&self.shared);
        let hub: Arc<dyn Callbacks> = shared.callbacks.clone();
        let mut runner = Runner::new()
            .execution_id(id.clone())
            .elapsed(elapsed)
            .clock(shared.clock)
            .with_callbacks(CallbackLink(hub));
        if let Some(seed) = shared.seed {
            // From the name, which the caller chose: the same seed and name
            // give the same jitter, run after run.
            runner = runner.seed(crate::driver::derive_seed(seed, name));
        }
        let state_name = checkpoint.state_name().to_owned();
        let key = id.clone();
        let key_in_task = id.clone();
        let task = async move {
            let mut recorder = DurableRecorder::new(
                Arc::clone(&shared.store),
                id,
                fence,
                last_event_id,
                shared.limits,
                shared.clock,
                (state, state_name),
            )
            .parking_after(shared.park_after);
            let ran = {
                let run =
                    runner.run_from::<W, _>(&shared.context, checkpoint, progress, &mut recorder);
                // Code outside a task's handler (a choice or pass function,
                // say) may panic too; the execution then fails instead of
                // staying "running" forever.
                let run = std::panic::AssertUnwindSafe(run).catch_unwind();
                let mut cancelled = cancelled;
                tokio::select! {
                    ran = run => ran.unwrap_or_else(|panic| {
                        Ran::Ended(Err(ExecutionError::Crashed {
                            message: crate::attempt::panic_message(panic.as_ref()),
                        }))
                    }),
                    _ = cancelled.wait_for(|c| *c) => Ran::Ended(Err(ExecutionError::Aborted)),
                }
            };
            let outcome = match ran {
                Ran::Parked => {
                    // The deadline is committed; give the claim up so the
                    // timer loop can take the execution when it is due.
                    if let Err(error) = shared.store.release(&key_in_task, fence).await {
                        tracing::warn!(execution = %key_in_task, %error, "could not park");
                    }
                    park_live(&shared.live, &key_in_task);
                    shared.wake.notify_one();
                    return;
                }
                Ran::Ended(Err(ExecutionError::Aborted)) => match recorder.abort().await {
                    Ok(()) => Err(ExecutionError::Aborted),
                    Err(error) => Err(error),
                },
                Ran::Ended(Err(crashed @ ExecutionError::Crashed { .. })) => {
                    match recorder.crash::<W>(&crashed).await {
                        Ok(()) => Err(crashed),
                        Err(error) => Err(error),
                    }
                }
                Ran::Ended(other) => other.map(|_| ()),
            };
            // Handles already waiting hold receivers that keep the outcome;
            // later ones read it from the store. The execution has ended
            // there, so no other task can have taken this entry over.
            done.send_replace(Some(outcome));
            let mut live = lock(&shared.live);
            if live.get(&key_in_task).is_some_and(Live::runs_this_task) {
                live.remove(&key_in_task);
            }
        };
        let entry = live.entry(key).or_insert_with(Live::new);
        entry.task = Some(tokio::spawn(task).abort_handle());
        drop(live);
        self.ensure_timers();
    }

    /// Starts the timer loop, once: it resumes parked executions when their
    /// deadlines come.
    fn ensure_timers(&self) {
        let mut timers = lock(&self.shared.timers);
        if timers.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let weak = Arc::downgrade(&self.shared);
        *timers = Some(tokio::spawn(timer_loop(weak)).abort_handle());
    }

    /// Resumes one claimed execution, or says why not. An execution that
    /// cannot be resumed stays claimed, so the timer loop does not take it
    /// again and again; the next `recover` reports it again.
    async fn resume_claimed(
        &self,
        execution: StoredExecution,
    ) -> Result<Option<RecoveryError>, EngineError> {
        let registered = lock(&self.shared.registry)
            .get(&execution.workflow)
            .map(|r| (r.version.clone(), r.resume));
        let id = execution.id.clone();
        Ok(match registered {
            None => Some(RecoveryError::Unregistered {
                execution: id,
                workflow: execution.workflow.clone(),
            }),
            Some((version, _)) if version != execution.version => {
                let problem = RecoveryError::VersionMismatch {
                    execution: id,
                    workflow: execution.workflow.clone(),
                    stored: execution.version.clone(),
                    current: version,
                };
                if self.shared.versions == VersionPolicy::Fail {
                    self.fail_unresumable(&execution, "States.VersionMismatch", &problem)
                        .await?;
                }
                Some(problem)
            }
            Some((_, resume)) => resume(self, execution).err(),
        })
    }

    /// How many executions have a task running in this process now: parked
    /// ones have none.
    pub fn active_tasks(&self) -> usize {
        lock(&self.shared.live)
            .values()
            .filter(|l| l.task.as_ref().is_some_and(|t| !t.is_finished()))
            .count()
    }

    /// How many executions this engine keeps anything for in memory: those
    /// it runs now and those a handle is awaiting. Parked and ended
    /// executions nobody awaits cost nothing here; the store keeps them.
    pub fn executions_in_memory(&self) -> usize {
        lock(&self.shared.live).len()
    }

    /// Waits until the execution with this id ends; `Ok` means it succeeded
    /// (its output is in the store).
    pub(crate) async fn finished(&self, id: &str) -> Result<(), ExecutionError> {
        let (done, running_here) = {
            let mut live = lock(&self.shared.live);
            let entry = live.entry(id.to_owned()).or_insert_with(Live::new);
            let running = entry.task.as_ref().is_some_and(|t| !t.is_finished());
            (entry.done.subscribe(), running)
        };
        let mut waiting = Waiting {
            live: &self.shared.live,
            id,
            done,
        };
        // A task driving it here publishes its end on this channel before it
        // lets the entry go, so there is nothing to read yet: the store
        // matters only for an execution that ended, or runs, elsewhere.
        if !running_here {
            let stored = self
                .shared
                .store
                .execution(id)
                .await
                .map_err(ExecutionError::Store)?
                .ok_or_else(|| ExecutionError::Store(StoreError::NotFound(id.to_owned())))?;
            if stored.checkpoint.status != Status::Running {
                return ended(&stored);
            }
        }
        let published = waiting
            .done
            .wait_for(Option::is_some)
            .await
            .map_err(|_| ExecutionError::Store(StoreError::Closed))?
            .clone();
        published.unwrap_or(Err(ExecutionError::Store(StoreError::Closed)))
    }

    pub(crate) async fn cancel(&self, id: &str) -> Result<(), EngineError> {
        // A claim taken between reading and writing (the timer loop
        // resuming it) makes the write stale: then the running task is
        // signalled instead. A few rounds settle it.
        for _ in 0..3 {
            let running_here = {
                let live = lock(&self.shared.live);
                live.get(id).is_some_and(|l| {
                    if l.task.as_ref().is_some_and(|t| !t.is_finished()) {
                        l.cancel.send_replace(true);
                        true
                    } else {
                        false
                    }
                })
            };
            if running_here {
                return Ok(());
            }
            let Some(stored) = self.shared.store.execution(id).await? else {
                return Err(EngineError::Store(StoreError::NotFound(id.to_owned())));
            };
            if stored.checkpoint.status != Status::Running {
                return Ok(());
            }
            // Parked: end it in the store directly.
            match self.abort_stored(&stored).await {
                Err(EngineError::Store(StoreError::Fenced { .. })) => continue,
                other => return other,
            }
        }
        Ok(())
    }

    /// Ends a parked execution as aborted, in the store.
    async fn abort_stored(&self, stored: &StoredExecution) -> Result<(), EngineError> {
        let error = ExecutionError::Aborted.info();
        self.end_stored(
            stored,
            Status::Aborted,
            error,
            EventKind::ExecutionAborted,
            None,
        )
        .await?;
        let done = lock(&self.shared.live)
            .get(&stored.id)
            .map(|l| l.done.clone());
        if let Some(done) = done {
            done.send_replace(Some(Err(ExecutionError::Aborted)));
        }
        Ok(())
    }
}

/// Forgets a parked execution unless a handle waits for it: then the entry
/// stays, so the run that resumes it publishes its outcome there. Called
/// from the parking task once its claim is released: by then the timer
/// loop may have resumed the execution in a new task, whose entry stays.
fn park_live(live: &Mutex<HashMap<String, Live>>, id: &str) {
    let mut live = lock(live);
    if let Some(entry) = live.get_mut(id).filter(|entry| entry.runs_this_task()) {
        if entry.done.receiver_count() == 0 {
            live.remove(id);
        } else {
            entry.task = None;
        }
    }
}

/// A handle waiting for an execution's outcome. When it stops waiting (it
/// got the outcome, or its future was dropped) and nothing else needs the
/// execution's entry, the entry goes: the engine keeps nothing per
/// execution that is neither running here nor awaited.
struct Waiting<'a> {
    live: &'a Mutex<HashMap<String, Live>>,
    id: &'a str,
    done: watch::Receiver<Option<Result<(), ExecutionError>>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut live = lock(self.live);
        let idle = live.get(self.id).is_some_and(|entry| {
            // This waiter's own receiver is dropped after this runs; it
            // counts only if the entry is still the one it subscribed to.
            let mine = usize::from(entry.done.subscribe().same_channel(&self.done));
            entry.done.receiver_count() <= mine
                && entry.task.as_ref().is_none_or(AbortHandle::is_finished)
        });
        if idle {
            live.remove(self.id);
        }
    }
}

/// The timer loop: sleeps until the earliest deadline of a parked
/// execution (or until one parks), claims what is due and resumes it.
async fn timer_loop<C: Send + Sync + 'static>(shared: std::sync::Weak<Shared<C>>) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let engine = Engine { shared: strong };
        let clock = engine.shared.clock;
        let now = clock.now();
        let claim = Claim {
            owner: engine.shared.owner.clone(),
            lease_until: forever(),
            due_by: now,
            leases_expired_by: now,
            limit: 1024,
        };
        let claimed = match engine.shared.store.claim(claim).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "the timer loop could not claim due executions");
                Vec::new()
            }
        };
        let full = claimed.len() == 1024;
        for execution in claimed {
            match engine.resume_claimed(execution).await {
                Ok(None) => {}
                Ok(Some(problem)) => tracing::warn!(%problem, "a due execution was not resumed"),
                Err(error) => tracing::warn!(%error, "a due execution was not resumed"),
            }
        }
        if full {
            continue;
        }
        let next = engine.shared.store.next_wake(now).await.ok().flatten();
        let wake = Arc::clone(&engine.shared);
        drop(engine);
        // Polled at least every minute, so a deadline written by another
        // engine on the same store is not missed for long.
        let poll = now + Duration::from_secs(60);
        let until = next.map_or(poll, |t| t.min(poll));
        let elsewhere = async {
            match wake.store.wake_up() {
                // Another worker made something due: look now. An error
                // falls back to the poll.
                Some(woken) => {
                    if woken.await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = clock.sleep_until(until) => {}
            () = wake.wake.notified() => {}
            () = elsewhere => {}
        }
    }
}

/// Which execution a driver task runs, and where its history stands.
struct Run<'a> {
    id: String,
    name: &'a str,
    /// The checkpoint as stored (JSON), so it is not serialized again.
    state: String,
    fence: u64,
    last_event_id: u64,
    elapsed: Duration,
}

/// How a stored execution ended, as an outcome.
fn ended(stored: &StoredExecution) -> Result<(), ExecutionError> {
    let checkpoint = &stored.checkpoint;
    let error = checkpoint.error.clone().unwrap_or_else(|| {
        crate::ErrorInfo::new("States.Runtime", "the execution ended without an error")
    });
    match checkpoint.status {
        Status::Running | Status::Succeeded => Ok(()),
        Status::Aborted => Err(ExecutionError::Aborted),
        Status::TimedOut | Status::Failed => Err(ExecutionError::Failed(crate::Failure {
            state: checkpoint.state_name.clone(),
            error: error.name,
            cause: error.cause,
        })),
    }
}

/// Resumes one stored execution of `W`.
fn resume<C, W>(engine: &Engine<C>, stored: StoredExecution) -> Result<(), RecoveryError>
where
    C: Send + Sync + 'static,
    W: Workflow<Context = C> + Serialize + DeserializeOwned,
    W::Output: Serialize + DeserializeOwned,
{
    let unreadable = |detail: String| RecoveryError::Unreadable {
        execution: stored.id.clone(),
        detail,
    };
    let checkpoint: W = serde_json::from_str(&stored.checkpoint.state)
        .map_err(|e| unreadable(format!("its state does not deserialize: {e}")))?;
    let def = W::definition();
    let waiting = match &stored.checkpoint.waiting {
        None => None,
        Some(name) => Some(
            def.states
                .iter()
                .find(|s| s.name == *name)
                .map(|s| -> &'static str { &s.name })
                .ok_or_else(|| unreadable(format!("it waits in an unknown state `{name}`")))?,
        ),
    };
    let started = stored.last_event_id > 0;
    let progress = Progress {
        entry: stored.checkpoint.entry,
        attempt: stored.checkpoint.attempt,
        retries: stored.checkpoint.retries.clone(),
        waiting,
        wake_at: stored.checkpoint.wake_at,
        // Every commit but a wait's is made after the state's entry is
        // recorded; a wait's names the state it waits in instead.
        entered: started && waiting.is_none(),
        started,
    };
    let elapsed = engine
        .shared
        .clock
        .now()
        .duration_since(stored.started_at)
        .unwrap_or_default();
    let run = Run {
        id: stored.id,
        name: &stored.name,
        state: stored.checkpoint.state,
        fence: stored.fence,
        last_event_id: stored.last_event_id,
        elapsed,
    };
    engine.spawn::<W>(run, checkpoint, progress);
    Ok(())
}

fn json<T: Serialize>(value: &T) -> Result<String, EngineError> {
    serde_json::to_string(value).map_err(|e| EngineError::Serialize(e.to_string()))
}
