//! The engine: many executions at once, each with a history, on whatever
//! tokio runtime it is used from.

mod handle;
mod record;
mod recorder;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use tokio::sync::watch;
use workflow_core::Definition;

use crate::clock::Clock;
use crate::driver::Runner;
use crate::error::ExecutionError;
use crate::history::{Event, EventKind};
use crate::workflow::Workflow;

pub use handle::ExecutionHandle;
pub use record::{Description, Status};

use record::Record;
use recorder::EngineRecorder;

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

/// Why the engine refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// `start` for a workflow that was never registered.
    #[error(
        "workflow `{0}` is not registered with this engine: call `engine.register::<{0}>()` first"
    )]
    NotRegistered(String),
    /// `start` under a name that another execution already has.
    #[error("an execution named `{0}` already exists")]
    NameTaken(String),
    /// `start` outside a tokio runtime.
    #[error("the engine starts executions on a tokio runtime, and none is running here")]
    NoRuntime,
}

/// Runs many executions concurrently with Step Functions semantics, and
/// keeps each one's status and history.
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
    registry: Mutex<HashMap<&'static str, &'static Definition>>,
    executions: Mutex<Executions>,
}

#[derive(Default)]
struct Executions {
    by_id: HashMap<String, Arc<Mutex<Record>>>,
    /// Ids in start order, so listings are stable.
    order: Vec<String>,
    by_name: HashMap<String, String>,
}

/// Builds an [`Engine`].
pub struct EngineBuilder<C> {
    context: C,
    limits: Limits,
    seed: Option<u64>,
}

impl<C: Send + Sync + 'static> EngineBuilder<C> {
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

    /// The engine.
    pub fn build(self) -> Engine<C> {
        Engine {
            shared: Arc::new(Shared {
                context: self.context,
                limits: self.limits,
                seed: self.seed,
                registry: Mutex::default(),
                executions: Mutex::default(),
            }),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind
    // (maps and vectors that are always updated whole), so it stays usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<C: Send + Sync + 'static> Engine<C> {
    /// An engine whose handlers share `context`, with default limits.
    pub fn new(context: C) -> Self {
        Engine::builder(context).build()
    }

    /// A builder, to set limits or a jitter seed.
    pub fn builder(context: C) -> EngineBuilder<C> {
        EngineBuilder {
            context,
            limits: Limits::default(),
            seed: None,
        }
    }

    /// The shared context.
    pub fn context(&self) -> &C {
        &self.shared.context
    }

    /// Makes workflow `W` startable on this engine.
    pub fn register<W: Workflow<Context = C>>(&self) -> &Self {
        let def = W::definition();
        lock(&self.shared.registry).insert(workflow_name(def), def);
        self
    }

    /// The definitions of the registered workflows, by name.
    pub fn workflows(&self) -> Vec<&'static Definition> {
        let mut defs: Vec<_> = lock(&self.shared.registry).values().copied().collect();
        defs.sort_by(|a, b| a.name.cmp(&b.name));
        defs
    }

    /// Starts an execution of `W` named `name` on the current tokio runtime.
    ///
    /// The workflow's enum and output must be `Serialize`: the history
    /// records each state's data, and the payload limit is measured on it.
    pub fn start<W>(
        &self,
        name: impl Into<String>,
        input: W::Input,
    ) -> Result<ExecutionHandle<W>, EngineError>
    where
        W: Workflow<Context = C> + Serialize,
        W::Output: Serialize,
    {
        let def = W::definition();
        let workflow = workflow_name(def);
        if !lock(&self.shared.registry).contains_key(workflow) {
            return Err(EngineError::NotRegistered(workflow.to_owned()));
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| EngineError::NoRuntime)?;
        let name = name.into();
        let id = format!("{:032x}", fastrand::u128(..));
        let clock = Clock::new();
        let (cancel, cancelled) = watch::channel(false);
        let record = Arc::new(Mutex::new(Record::new(
            id.clone(),
            name.clone(),
            workflow,
            clock.now(),
        )));
        {
            let mut executions = lock(&self.shared.executions);
            if executions.by_name.contains_key(&name) {
                return Err(EngineError::NameTaken(name));
            }
            executions.by_name.insert(name, id.clone());
            executions.by_id.insert(id.clone(), Arc::clone(&record));
            executions.order.push(id.clone());
        }
        let shared = Arc::clone(&self.shared);
        let mut runner = Runner::new().execution_id(id.clone());
        if let Some(seed) = shared.seed {
            runner = runner.seed(seed ^ fastrand::u64(..));
        }
        let task_record = Arc::clone(&record);
        let task = async move {
            let mut recorder = EngineRecorder::new(Arc::clone(&task_record), shared.limits, clock);
            let outcome = {
                let run = runner.run_recorded::<W, _>(&shared.context, input, &mut recorder);
                let mut cancelled = cancelled;
                tokio::select! {
                    outcome = run => outcome,
                    _ = cancelled.wait_for(|c| *c) => Err(ExecutionError::Aborted),
                }
            };
            if matches!(outcome, Err(ExecutionError::Aborted)) {
                recorder.push(EventKind::ExecutionAborted, None, None);
            }
            lock(&task_record).finish(&outcome, clock.now());
            outcome
        };
        let join = runtime.spawn(task);
        Ok(ExecutionHandle::new(id, record, cancel, join))
    }

    /// The execution with this id, described.
    pub fn describe(&self, id: &str) -> Option<Description> {
        let record = lock(&self.shared.executions).by_id.get(id).cloned()?;
        let description = lock(&record).describe();
        Some(description)
    }

    /// The executions of `workflow` (all workflows if `None`) whose status is
    /// `status` (any if `None`), in start order.
    pub fn list(&self, workflow: Option<&str>, status: Option<Status>) -> Vec<Description> {
        let records: Vec<Arc<Mutex<Record>>> = {
            let executions = lock(&self.shared.executions);
            executions
                .order
                .iter()
                .filter_map(|id| executions.by_id.get(id).cloned())
                .collect()
        };
        records
            .iter()
            .map(|r| lock(r).describe())
            .filter(|d| workflow.is_none_or(|w| d.workflow == w))
            .filter(|d| status.is_none_or(|s| d.status == s))
            .collect()
    }

    /// The history of the execution with this id.
    pub fn history(&self, id: &str) -> Option<Vec<Event>> {
        let record = lock(&self.shared.executions).by_id.get(id).cloned()?;
        let history = lock(&record).history.clone();
        Some(history)
    }
}

fn workflow_name(def: &'static Definition) -> &'static str {
    &def.name
}
