//! How the engine describes an execution.

use std::time::SystemTime;

use crate::error::ErrorInfo;
use crate::store::StoredExecution;

/// Where an execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Not ended yet.
    Running,
    /// Ended with an output.
    Succeeded,
    /// Ended in a Fail state or with an error nothing caught.
    Failed,
    /// Ran past the workflow's timeout.
    TimedOut,
    /// Cancelled.
    Aborted,
}

impl Status {
    /// The status's name (`"Running"`, ...), as stores write it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Running => "Running",
            Status::Succeeded => "Succeeded",
            Status::Failed => "Failed",
            Status::TimedOut => "TimedOut",
            Status::Aborted => "Aborted",
        }
    }

    /// The status with this name.
    pub fn from_name(name: &str) -> Option<Status> {
        [
            Status::Running,
            Status::Succeeded,
            Status::Failed,
            Status::TimedOut,
            Status::Aborted,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}

/// An execution, as [`Engine::describe`](super::Engine::describe) reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    /// The execution's id.
    pub id: String,
    /// The name it was started under.
    pub name: String,
    /// Its workflow's name.
    pub workflow: String,
    /// Where it stands.
    pub status: Status,
    /// The state it is in (or ended in).
    pub state: String,
    /// When it is due to go on, while it waits or backs off.
    pub wake_at: Option<SystemTime>,
    /// When it started.
    pub started_at: SystemTime,
    /// When it ended.
    pub stopped_at: Option<SystemTime>,
    /// Why it failed.
    pub error: Option<ErrorInfo>,
}

impl From<StoredExecution> for Description {
    fn from(stored: StoredExecution) -> Self {
        Description {
            id: stored.id,
            name: stored.name,
            workflow: stored.workflow,
            status: stored.checkpoint.status,
            state: stored.checkpoint.state_name,
            wake_at: stored.checkpoint.wake_at,
            started_at: stored.started_at,
            stopped_at: stored.stopped_at,
            error: stored.checkpoint.error,
        }
    }
}
