//! Errors of tasks and of executions.

use std::fmt;
use std::time::Duration;

pub use crate::error_info::ErrorInfo;

/// Why an attempt stopped before its handler returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interrupt {
    /// The attempt ran past the state's `timeout`.
    Timeout,
    /// The handler went without a heartbeat for longer than `heartbeat`.
    HeartbeatTimeout,
    /// The handler panicked; the panic message, when it had one.
    Panicked(String),
}

/// The error of one task attempt: the handler's own error, or an interrupt.
///
/// Catch targets receive it inside [`Caught`](crate::Caught).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum TaskError<E> {
    /// The handler returned `Err`.
    Failed(E),
    /// The attempt ran past the state's `timeout` (`States.Timeout`).
    Timeout,
    /// The handler went silent past its `heartbeat` (`States.HeartbeatTimeout`).
    HeartbeatTimeout,
    /// The handler panicked (`States.TaskFailed`), with the panic message.
    Panicked(String),
}

impl<E> TaskError<E> {
    /// Whether this is a timeout of either kind, which `task_failed` excludes.
    pub fn is_timeout(&self) -> bool {
        matches!(self, TaskError::Timeout | TaskError::HeartbeatTimeout)
    }

    /// The handler's own error, if the handler returned one.
    pub fn failed(&self) -> Option<&E> {
        match self {
            TaskError::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Converts the handler's error, keeping interrupts as they are.
    pub fn map<F>(self, f: impl FnOnce(E) -> F) -> TaskError<F> {
        match self {
            TaskError::Failed(e) => TaskError::Failed(f(e)),
            TaskError::Timeout => TaskError::Timeout,
            TaskError::HeartbeatTimeout => TaskError::HeartbeatTimeout,
            TaskError::Panicked(m) => TaskError::Panicked(m),
        }
    }
}

impl<E> From<Interrupt> for TaskError<E> {
    fn from(interrupt: Interrupt) -> Self {
        match interrupt {
            Interrupt::Timeout => TaskError::Timeout,
            Interrupt::HeartbeatTimeout => TaskError::HeartbeatTimeout,
            Interrupt::Panicked(message) => TaskError::Panicked(message),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> TaskError<E> {
    /// The error's name and cause, as the history and failures record them.
    pub fn info(&self) -> ErrorInfo {
        match self {
            TaskError::Failed(e) => ErrorInfo {
                name: error_name(e),
                cause: e.to_string(),
            },
            TaskError::Timeout => ErrorInfo::new("States.Timeout", "the attempt timed out"),
            TaskError::HeartbeatTimeout => ErrorInfo::new(
                "States.HeartbeatTimeout",
                "the task sent no heartbeat in time",
            ),
            TaskError::Panicked(message) => ErrorInfo::new("States.TaskFailed", message.clone()),
        }
    }
}

impl<E: fmt::Display> fmt::Display for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed(e) => e.fmt(f),
            TaskError::Timeout => f.write_str("the attempt timed out"),
            TaskError::HeartbeatTimeout => f.write_str("the task sent no heartbeat in time"),
            TaskError::Panicked(message) => write!(f, "the task panicked: {message}"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for TaskError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.failed().map(|e| e as _)
    }
}

/// The `Type.Variant` name of an error value: the type's last path segment and,
/// for an enum, the variant that its `Debug` output starts with. The same name
/// `#[retry(on = [Type::Variant])]` records in the definition.
pub fn error_name<E: fmt::Debug>(error: &E) -> String {
    let debug = format!("{error:?}");
    let variant: String = debug
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    variant_name::<E>(&variant)
}

/// The name [`error_name`] gives a value of `E` whose `Debug` starts with
/// `variant`: `Type.Variant`, or the type's name alone when `variant` is
/// not one.
pub(crate) fn variant_name<E>(variant: &str) -> String {
    let full = std::any::type_name::<E>();
    let without_generics = full.split('<').next().unwrap_or(full);
    let type_name = without_generics
        .rsplit("::")
        .next()
        .unwrap_or(without_generics);
    let starts_like_ident = variant.chars().next().is_some_and(char::is_alphabetic);
    if starts_like_ident && variant != type_name {
        format!("{type_name}.{variant}")
    } else {
        type_name.to_owned()
    }
}

/// How an execution failed: the state it failed in, the error and its cause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The state in which the execution failed.
    pub state: String,
    /// The error's name: a Fail state's `error`, `Type.Variant` for a handler's
    /// error, or `States.*`.
    pub error: String,
    /// A human-readable description.
    pub cause: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} in state `{}`: {}",
            self.error, self.state, self.cause
        )
    }
}

/// Why an execution did not produce its output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExecutionError {
    /// The execution reached a Fail state or an error nothing caught.
    #[error("the execution failed with {0}")]
    Failed(Failure),
    /// The execution ran past the workflow's `timeout`.
    #[error("the execution timed out after {after:?} (States.Timeout)")]
    TimedOut {
        /// The workflow's timeout.
        after: Duration,
    },
    /// The execution was cancelled.
    #[error("the execution was cancelled")]
    Aborted,
    /// The execution's task ended abnormally: code outside a task handler
    /// (a choice or pass function, say) panicked.
    #[error("the execution crashed: {message}")]
    Crashed {
        /// What the panic said.
        message: String,
    },
    /// The store refused a write (the execution was claimed by another
    /// worker, the disk is full, ...); this process stopped driving it.
    #[error("the store refused the execution's progress: {0}")]
    Store(crate::store::StoreError),
    /// The engine awaited here was halted ([`Engine::halt`](crate::Engine::halt)):
    /// it drives nothing more, and the execution's outcome is not known
    /// here. It stays in the store for [`recover`](crate::Engine::recover).
    #[error("the engine was halted before the execution ended")]
    Halted,
    /// The engine awaited here shut down ([`Engine::shutdown`](crate::Engine::shutdown))
    /// before the execution ended; it goes on in the store, in another
    /// worker or after a restart. Await a handle of another engine on the
    /// same store to keep waiting.
    #[error("the engine shut down before the execution ended")]
    ShuttingDown,
    /// The workflow's generated code and its definition disagree; only a
    /// hand-written `Workflow` impl can cause this.
    #[error("the workflow `{workflow}` is inconsistent: {reason}")]
    InvalidWorkflow {
        /// The workflow's name.
        workflow: String,
        /// What disagreed.
        reason: String,
    },
}

impl ExecutionError {
    /// The error's name and cause, as the history records them.
    pub fn info(&self) -> ErrorInfo {
        match self {
            ExecutionError::Failed(failure) => {
                ErrorInfo::new(failure.error.clone(), failure.cause.clone())
            }
            ExecutionError::TimedOut { .. } => ErrorInfo::new("States.Timeout", self.to_string()),
            ExecutionError::Aborted => ErrorInfo::new("States.Aborted", self.to_string()),
            ExecutionError::Crashed { .. }
            | ExecutionError::Halted
            | ExecutionError::ShuttingDown
            | ExecutionError::InvalidWorkflow { .. }
            | ExecutionError::Store(_) => ErrorInfo::new("States.Runtime", self.to_string()),
        }
    }

    /// The failure, when the execution failed in a state.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            ExecutionError::Failed(failure) => Some(failure),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    #[allow(dead_code)]
    enum ShopError {
        Busy,
        OutOfStock { sku: u32 },
        Declined(String),
    }

    #[derive(Debug)]
    struct Plain;

    #[test]
    fn names_come_from_type_and_variant() {
        assert_eq!(error_name(&ShopError::Busy), "ShopError.Busy");
        assert_eq!(
            error_name(&ShopError::OutOfStock { sku: 3 }),
            "ShopError.OutOfStock"
        );
        assert_eq!(
            error_name(&ShopError::Declined("x".into())),
            "ShopError.Declined"
        );
        assert_eq!(error_name(&Plain), "Plain");
        assert_eq!(error_name(&String::from("oops")), "String");
    }
}
