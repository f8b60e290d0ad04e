//! What the engine keeps of one execution.

use std::time::SystemTime;

use crate::error::{ErrorInfo, ExecutionError};
use crate::history::Event;

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
    pub workflow: &'static str,
    /// Where it stands.
    pub status: Status,
    /// The state it is in (or ended in).
    pub state: Option<&'static str>,
    /// When it started.
    pub started_at: SystemTime,
    /// When it ended.
    pub stopped_at: Option<SystemTime>,
    /// Why it failed.
    pub error: Option<ErrorInfo>,
}

pub(crate) struct Record {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) workflow: &'static str,
    pub(crate) status: Status,
    pub(crate) state: Option<&'static str>,
    pub(crate) started_at: SystemTime,
    pub(crate) stopped_at: Option<SystemTime>,
    pub(crate) error: Option<ErrorInfo>,
    pub(crate) history: Vec<Event>,
}

impl Record {
    pub(crate) fn new(id: String, name: String, workflow: &'static str, now: SystemTime) -> Self {
        Record {
            id,
            name,
            workflow,
            status: Status::Running,
            state: None,
            started_at: now,
            stopped_at: None,
            error: None,
            history: Vec::new(),
        }
    }

    pub(crate) fn finish<T>(&mut self, outcome: &Result<T, ExecutionError>, now: SystemTime) {
        self.stopped_at = Some(now);
        self.status = match outcome {
            Ok(_) => Status::Succeeded,
            Err(ExecutionError::TimedOut { .. }) => Status::TimedOut,
            Err(ExecutionError::Aborted) => Status::Aborted,
            Err(_) => Status::Failed,
        };
        if let Err(error) = outcome {
            self.error = Some(error.info());
        }
    }

    pub(crate) fn describe(&self) -> Description {
        Description {
            id: self.id.clone(),
            name: self.name.clone(),
            workflow: self.workflow,
            status: self.status,
            state: self.state,
            started_at: self.started_at,
            stopped_at: self.stopped_at,
            error: self.error.clone(),
        }
    }
}
