//! Why the engine refused a request, and what recovery did.

use super::*;
use crate::token::redacted;

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
    /// `start` for a workflow whose path another registered workflow has
    /// too (enums of one name in two functions of one module): the store
    /// could not tell their executions apart.
    #[error(
        "two workflows registered on this engine have the path `{0}`: give one another name \
         or move it to a module of its own"
    )]
    Ambiguous(String),
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
    #[error("the task with token `{}` was already answered differently", redacted(.0))]
    AlreadyAnswered(String),
    /// A string that is no task's callback token: malformed, not made
    /// with its execution's secret (forged or altered), or naming an
    /// execution that is not in the store (never was, or purged).
    ///
    /// The last is not an error of its own on purpose: without the
    /// execution's secret a forged token cannot be told from a purged
    /// one's, and answering differently would let anyone who can send a
    /// token learn which execution ids exist.
    #[error("`{}` is not a task token this store's executions gave out", redacted(.0))]
    InvalidToken(String),
    /// A callback token whose task waits no more: its execution has ended,
    /// or moved past the entry of the state the token was made for.
    #[error("the task with token `{}` waits no more: its execution ended or moved on", redacted(.0))]
    StaleToken(String),
    /// A callback output that is not what the task waiting for it
    /// expects (checked when the task waits in this process).
    #[error(
        "the output sent for the task with token `{}` is not what it expects: {detail}",
        redacted(token)
    )]
    WrongType {
        /// The token.
        token: String,
        /// Why the output does not decode as the task's type.
        detail: String,
    },
    /// A pending-callbacks cursor that no page gave.
    #[error("`{0}` is not a cursor of the pending callbacks")]
    InvalidCursor(String),
    /// The system gave no randomness for a new execution's callback
    /// secret.
    #[error("no randomness for the execution's callback secret: {0}")]
    NoRandomness(String),
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
        /// Its workflow: the path it was stored with, or its name if it
        /// was stored without one.
        workflow: String,
    },
    /// More than one registered workflow could be its own: two share the
    /// path it was stored with, or (stored before paths were) two have its
    /// workflow's name and version.
    #[error("execution `{execution}` could belong to more than one registered `{workflow}`")]
    Ambiguous {
        /// The execution.
        execution: String,
        /// Its workflow's path, or its name if it was stored without one.
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
    /// What is stored of it cannot be read back: its checkpoint no longer
    /// deserializes as the workflow's enum, or its row in the store is
    /// corrupt.
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
