//! The engine: many executions at once, each written to a store at every
//! transition, on whatever tokio runtime it is used from.

mod builder;
mod callbacks;
mod ending;
mod errors;
mod handle;
mod ids;
mod journal;
mod leasing;
mod lifecycle;
mod live;
mod pending;
mod purge;
mod record;
mod recorder;
mod recovery;
mod registry;
mod spawn;
mod timers;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use futures_util::FutureExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::task::AbortHandle;
use workflow_core::Definition;

use self::ids::Ids;
use crate::callback::{CallbackLink, CallbackState, CallbackToken, Callbacks};
use crate::clock::Clock;
use crate::driver::{Progress, Ran};
use crate::error::ExecutionError;
use crate::history::{Event, EventKind};
use crate::runner::Runner;
use crate::store::{
    CallbackResult, Checkpoint, Claim, Claimed, Created, Filter, MemoryStore, NewExecution, Store,
    StoreError, StoredDefinition, StoredExecution, Transition,
};
use crate::token::Secret;
use crate::workflow::Workflow;
use crate::workflow::typing::{Persisted, RunsOn, Stored};

pub use crate::status::Status;
pub use builder::{EngineBuilder, Limits, VersionPolicy};
pub use errors::{EngineError, Recovery, RecoveryError};
pub use handle::ExecutionHandle;
pub use lifecycle::Shutdown;
pub use pending::{PendingCallback, PendingCallbacks, PendingFilter};
pub use record::Description;

use callbacks::CallbackHub;
use ending::ended;
use leasing::{Leasing, forever};
use lifecycle::Tasks;
use live::{Live, let_go};
use recorder::DurableRecorder;
use recovery::resume;
use registry::{Launch, Registered, enroll};
use spawn::Run;

/// The engine's maps, looked up by execution id a few times per execution:
/// foldhash, seeded at random per map (ids and names can come from users),
/// rather than the slower SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

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
    /// planned to wake), or one driven here ended (room for more).
    wake: tokio::sync::Notify,
    leasing: Leasing,
    /// Set by `shutdown` and `halt`: runs stop at their next checkpoint,
    /// and nothing new starts.
    stopping: Arc<std::sync::atomic::AtomicBool>,
    /// The driver tasks running now.
    tasks: Arc<Tasks>,
    /// Why handles awaiting executions here stop waiting, once the engine
    /// stopped.
    stopped: watch::Sender<Option<ExecutionError>>,
    callbacks: Arc<CallbackHub>,
    ids: Ids,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind
    // (maps that are always updated whole), so it stays usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
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
        EngineBuilder::new(context)
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
    /// Workflows are told apart by their [`Workflow::path`], so enums of
    /// one name in two modules can both be registered. Two of one path
    /// (enums of one name in two functions of one module) cannot be told
    /// apart in the store: both are then refused, with
    /// [`EngineError::Ambiguous`], rather than one run as the other.
    ///
    /// The enum and its output are written to the store at every
    /// transition, so they must be `Serialize` and `DeserializeOwned`
    /// ([`Persisted`]; and the input, kept beside the execution,
    /// `Serialize`); and the workflow's context type must be the engine's.
    /// One bound per requirement, each with a message of its own, so a
    /// workflow that misses one gets one error here. They are checked here
    /// only: [`start`](Self::start) uses what this made of them.
    pub fn register<W>(&self) -> &Self
    where
        W: RunsOn<C> + Persisted,
        W::Input: Stored,
        W::Output: Persisted,
    {
        let def = W::definition();
        let launch: Launch<C, W> = Launch {
            input: json::<W::Input>,
            state: json::<W>,
            spawn: Self::spawn::<W>,
            engine: std::convert::identity,
            output: handle::decode::<W::Output>,
        };
        enroll(
            &mut lock(&self.shared.registry),
            W::path(),
            Registered {
                type_id: Some(std::any::TypeId::of::<W>()),
                name: def.name.to_string(),
                version: version_of(def),
                resume: resume::<C, W>,
                launch: Box::new(launch),
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
    ///
    /// `W` must be [registered](Self::register) first, which checks its
    /// serde and context once; `start` asks for nothing more than a
    /// [`Workflow`], and refuses one that is not registered with
    /// [`EngineError::NotRegistered`].
    ///
    /// # Errors
    ///
    /// [`EngineError::NotRegistered`], [`EngineError::NameConflict`],
    /// [`EngineError::Stopped`] once the engine shut down or halted,
    /// [`EngineError::NoRuntime`] outside a tokio runtime, and the store's
    /// error ([`EngineError::Store`]) if the execution cannot be written.
    pub async fn start<W: Workflow>(
        &self,
        name: impl Into<String>,
        input: W::Input,
    ) -> Result<ExecutionHandle<W>, EngineError> {
        if self.is_stopped() {
            return Err(EngineError::Stopped);
        }
        // Checked before the registry is touched: a start that cannot run
        // must leave the definitions it has not saved yet for the next one.
        tokio::runtime::Handle::try_current().map_err(|_| EngineError::NoRuntime)?;
        let def = W::definition();
        let path = W::path();
        let (version, unsaved, launch) = {
            let mut registry = lock(&self.shared.registry);
            let registered = match registry.get_mut(path) {
                Some(registered) if registered.type_id.is_none() => {
                    return Err(EngineError::Ambiguous(path.to_owned()));
                }
                Some(registered) if registered.type_id == Some(std::any::TypeId::of::<W>()) => {
                    registered
                }
                _ => return Err(EngineError::NotRegistered(def.name.to_string())),
            };
            // `register::<W>` made this very type, on this engine.
            let Some(&launch) = registered.launch.downcast_ref::<Launch<C, W>>() else {
                return Err(EngineError::NotRegistered(def.name.to_string()));
            };
            (
                registered.version.clone(),
                std::mem::take(&mut registered.unsaved),
                launch,
            )
        };
        // The first start keeps the definitions, so tools reading the store
        // can draw what ran. Saving twice (a start racing this one, another
        // process) is harmless.
        for (kept, definition) in unsaved.iter().enumerate() {
            if let Err(error) = self.shared.store.save_definition(definition.clone()).await {
                if let Some(registered) = lock(&self.shared.registry).get_mut(path) {
                    registered.unsaved = unsaved[kept..].to_vec();
                }
                return Err(error.into());
            }
        }
        let name = name.into();
        let input_json = (launch.input)(&input)?;
        let checkpoint = W::start(input);
        let state = (launch.state)(&checkpoint)?;
        let clock = self.shared.clock;
        let id = self.shared.ids.next(clock.now());
        let secret = Secret::draw().map_err(EngineError::NoRandomness)?;
        let new = NewExecution {
            id: id.clone(),
            name: name.clone(),
            workflow: def.name.to_string(),
            path: Some(path.to_owned()),
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
                callback: None,
                status: Status::Running,
                output: None,
                error: None,
            },
            started_at: clock.now(),
            callback_secret: secret.to_hex(),
        };
        let store = &self.shared.store;
        let lease_until = self.shared.leasing.start_until(clock.now());
        let fence = match store.create(new, &self.shared.owner, lease_until).await? {
            Created::New { fence } => fence,
            // An earlier try of this very create landed and only its reply
            // was lost (the store retried it): the execution is this
            // start's, claimed with the fence the create gave it (and with
            // this start's secret).
            Created::Existing(existing) if existing.id == id => existing.fence,
            Created::Existing(existing) => {
                let same_workflow = existing.workflow == *def.name
                    && existing.path.as_deref().is_none_or(|p| p == path);
                return if same_workflow && existing.input == input_json {
                    let engine = (launch.engine)(self.clone());
                    Ok(ExecutionHandle::new(
                        existing.id,
                        engine,
                        false,
                        launch.output,
                    ))
                } else {
                    Err(EngineError::NameConflict {
                        name,
                        existing: existing.id,
                    })
                };
            }
        };
        // A client leaves it to the workers, which a NOTIFY (or their next
        // poll) tells.
        if !self.shared.leasing.client_only {
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
                secret,
            };
            (launch.spawn)(self, run, checkpoint, progress);
        }
        let engine = (launch.engine)(self.clone());
        Ok(ExecutionHandle::new(id, engine, true, launch.output))
    }

    /// A handle to an existing execution of `W`, to await or cancel it.
    pub fn handle<W: Workflow<Context = C>>(&self, id: impl Into<String>) -> ExecutionHandle<W>
    where
        W::Output: DeserializeOwned,
    {
        ExecutionHandle::new(id.into(), self.clone(), false, handle::decode)
    }

    /// The execution with this id or, failing that, this name, described.
    ///
    /// # Errors
    ///
    /// The store's error if it cannot be read.
    pub async fn describe(&self, id_or_name: &str) -> Result<Option<Description>, EngineError> {
        Ok(self.find(id_or_name).await?.map(Description::from))
    }

    /// The execution with this id or, failing that, started under this name:
    /// a service addresses executions by its own ids, given to `start` as
    /// names.
    async fn find(&self, id_or_name: &str) -> Result<Option<StoredExecution>, StoreError> {
        let store = &self.shared.store;
        match store.execution(id_or_name).await? {
            Some(found) => Ok(Some(found)),
            None => store.execution_named(id_or_name).await,
        }
    }

    /// The id of the execution with this id or name.
    async fn id_of(&self, id_or_name: &str) -> Result<String, EngineError> {
        match self.find(id_or_name).await? {
            Some(found) => Ok(found.id),
            None => Err(StoreError::NotFound(id_or_name.to_owned()).into()),
        }
    }

    /// A handle to the execution of `W` with this id or name, if there is
    /// one: to await its outcome, describe or cancel it.
    ///
    /// # Errors
    ///
    /// The store's error if it cannot be read.
    pub async fn find_handle<W: Workflow<Context = C>>(
        &self,
        id_or_name: &str,
    ) -> Result<Option<ExecutionHandle<W>>, EngineError>
    where
        W::Output: DeserializeOwned,
    {
        Ok(self
            .find(id_or_name)
            .await?
            .map(|found| ExecutionHandle::new(found.id, self.clone(), false, handle::decode)))
    }

    /// Cancels the execution with this id or name (see
    /// [`ExecutionHandle::cancel`]).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] if there is none, and the store's error if
    /// the cancel cannot be written.
    pub async fn cancel_execution(&self, id_or_name: &str) -> Result<(), EngineError> {
        let id = self.id_of(id_or_name).await?;
        self.cancel(&id).await
    }

    /// The executions of `workflow` (all workflows if `None`) whose status is
    /// `status` (any if `None`), in start order.
    ///
    /// # Errors
    ///
    /// The store's error ([`EngineError::Store`]) if it cannot be read.
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

    /// The history of the execution with this id or, failing that, this
    /// name.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`] if there is no such execution, and the
    /// store's error if it cannot be read.
    pub async fn history(&self, id_or_name: &str) -> Result<Vec<Event>, EngineError> {
        match self.shared.store.history(id_or_name).await {
            Err(StoreError::NotFound(_)) => {
                let id = self.id_of(id_or_name).await?;
                Ok(self.shared.store.history(&id).await?)
            }
            read => Ok(read?),
        }
    }
}

fn json<T: Serialize>(value: &T) -> Result<String, EngineError> {
    serde_json::to_string(value).map_err(|e| EngineError::Serialize(e.to_string()))
}
