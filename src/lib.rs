//! Step Functions–style workflows, written as Rust code and checked by the
//! compiler.
//!
//! An annotated enum is the state machine: each variant is a state, its one
//! field the data the state receives, and a value of the enum a checkpoint.
//! Plain functions do the work. `#[workflow]` generates the transition table
//! and the dispatch, and makes the compiler check every edge: a task's output
//! against its next state's input, a choice's targets, catch targets, branch
//! and map workflows.
//!
//! ```
//! use workflow::prelude::*;
//!
//! #[derive(Debug, thiserror::Error)]
//! enum PayError {
//!     #[error("the bank is busy")]
//!     Busy,
//! }
//!
//! #[workflow]
//! enum Greet {
//!     #[start]
//!     #[task(shout, next = Done)]
//!     #[retry(on = [PayError::Busy], max_attempts = 2, interval = "1s")]
//!     Shout(String),
//!
//!     #[succeed]
//!     Done(String),
//! }
//!
//! async fn shout(_cx: Ctx<'_, ()>, name: String) -> Result<String, PayError> {
//!     Ok(format!("HELLO, {}!", name.to_uppercase()))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ExecutionError> {
//! let greeting = Greet::run(&(), "ferris".to_owned()).await?;
//! assert_eq!(greeting, "HELLO, FERRIS!");
//! assert_eq!(Greet::definition().states.len(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! See the README for every state kind and option, and for the compile
//! errors a mistake gives.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

pub use workflow_core as core;
pub use workflow_core::export::{Overlay, Visit};
pub use workflow_macros::workflow;
pub use workflow_runtime::{
    CallbackError, CallbackToken, Caught, Clock, Ctx, Description, Engine, EngineBuilder,
    EngineError, ErrorInfo, Event, EventKind, ExecutionError, ExecutionHandle, Failure,
    IdempotencyKey, Limits, PendingCallback, PendingCallbacks, PendingFilter, Recovery,
    RecoveryError, Runner, Shutdown, Status, TaskError, Timeline, VersionPolicy, Workflow, overlay,
    store, timeline,
};

// The bounds a workflow meets to run on an engine, and the one a task
// handler's error type meets: public here, so that the compiler's messages
// name them by this path rather than the macro's support module.
pub use workflow_runtime::{HandlerError, Persisted, Restored, RunsOn, Stored};

/// The many-machines store: [`PostgresStore`](postgres::PostgresStore)
/// (feature `postgres`).
#[cfg(feature = "postgres")]
pub use workflow_postgres as postgres;

/// Everything a workflow author needs: `use workflow::prelude::*;`.
pub mod prelude {
    pub use crate::workflow;
    pub use workflow_core::Definition;
    pub use workflow_runtime::{
        Caught, Ctx, Engine, EventKind, ExecutionError, ExecutionHandle, Failure, Runner, Status,
        TaskError, Workflow,
    };
}

/// What generated code refers to. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use tokio;
    pub use workflow_core as core;
    pub use workflow_runtime::{
        Attempted, Caught, ErrorInfo, Step, StepCx, TaskError, WaitUntil, Workflow, branch_info,
        typing,
    };
}

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
