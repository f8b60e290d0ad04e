//! The engine of `workflow`: the [`Workflow`] trait that `#[workflow]`
//! generates, and the driver that runs it.
//!
//! A workflow is an enum whose value is a checkpoint: the state an execution
//! is in and the data that state received. The generated
//! [`Workflow::step`] runs one state once and tells the driver what happened
//! (a [`Step`]); the driver owns everything that spans steps: retry counters,
//! backoff delays, waits, the attempt number, the execution's id. That split
//! keeps typed work in generated code and policy in one loop.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

mod attempt;
mod callback;
mod clock;
mod context;
mod driver;
mod engine;
mod error;
mod error_info;
mod hash;
mod history;
mod journal;
mod runner;
mod serde_time;
mod status;
pub mod store;
mod token;
mod workflow;

pub use callback::{CallbackError, CallbackToken};
pub use clock::Clock;
pub use context::{Caught, Ctx, IdempotencyKey};
pub use engine::{
    Description, Engine, EngineBuilder, EngineError, ExecutionHandle, Limits, PendingCallback,
    PendingCallbacks, PendingFilter, Recovery, RecoveryError, Shutdown, Status, VersionPolicy,
    version_of,
};
pub use runner::Runner;
// The macro's plumbing is public for the code it generates, and hidden:
// the step protocol below, `Interrupt` and `typing`.
#[doc(hidden)]
pub use error::Interrupt;
pub use error::{ErrorInfo, ExecutionError, Failure, TaskError};
pub use history::{Event, EventKind, Timeline, overlay, timeline};
pub use typing::{HandlerError, Persisted, Restored, RunsOn, Stored};
pub use workflow::Workflow;
#[doc(hidden)]
pub use workflow::typing;
#[doc(hidden)]
pub use workflow::{Attempted, Step, WaitUntil};
#[doc(hidden)]
pub use workflow::{StepCx, branch_info};
pub use workflow_core as core;
