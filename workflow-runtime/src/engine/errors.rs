//! Why the engine refused a request, and what recovery did.

use super::*;

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
    /// A request to drive executions (`recover`) on an engine built with
    /// [`client_only`](crate::EngineBuilder::client_only).
    #[error("this engine is client-only: it starts and reads executions, and workers run them")]
    ClientOnly,
    /// `start` on an engine that was shut down or halted.
    #[error("the engine was shut down or halted: it starts nothing more")]
    Stopped,
    /// `start` outside a tokio runtime.
    #[error("the engine starts executions on a tokio runtime, and none is running here")]
    NoRuntime,
    /// The input or a state's data could not be serialized.
    #[error("cannot serialize the execution's data: {0}")]
    Serialize(String),
    /// A callback answer that came after another one: the first stands,
    /// and is what the task got.
    #[error("the task with token `{0}` was already answered differently")]
    AlreadyAnswered(String),
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
