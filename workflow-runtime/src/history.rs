//! An execution's history: an ordered list of events in Step Functions'
//! vocabulary.

use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// One event of an execution's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// 1 for the first event, then consecutive.
    pub id: u64,
    /// The id of the event before this one; 0 for the first.
    pub previous_event_id: u64,
    /// When it happened, on the engine's clock.
    pub timestamp: SystemTime,
    /// What happened.
    pub kind: EventKind,
    /// The state it concerns, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Its data as JSON: a state's input or output, an execution's output,
    /// or an error's name and cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// What an event records, named as Step Functions names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(missing_docs)] // Each variant is the Step Functions event of that name.
pub enum EventKind {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    ExecutionAborted,
    TaskStateEntered,
    TaskScheduled,
    TaskStarted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    TaskStateExited,
    ChoiceStateEntered,
    ChoiceStateExited,
    PassStateEntered,
    PassStateExited,
    WaitStateEntered,
    WaitStateExited,
    ParallelStateEntered,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateExited,
    MapStateEntered,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapStateExited,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
}

impl EventKind {
    /// The event's name, as Step Functions spells it.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::ExecutionStarted => "ExecutionStarted",
            EventKind::ExecutionSucceeded => "ExecutionSucceeded",
            EventKind::ExecutionFailed => "ExecutionFailed",
            EventKind::ExecutionTimedOut => "ExecutionTimedOut",
            EventKind::ExecutionAborted => "ExecutionAborted",
            EventKind::TaskStateEntered => "TaskStateEntered",
            EventKind::TaskScheduled => "TaskScheduled",
            EventKind::TaskStarted => "TaskStarted",
            EventKind::TaskSucceeded => "TaskSucceeded",
            EventKind::TaskFailed => "TaskFailed",
            EventKind::TaskTimedOut => "TaskTimedOut",
            EventKind::TaskStateExited => "TaskStateExited",
            EventKind::ChoiceStateEntered => "ChoiceStateEntered",
            EventKind::ChoiceStateExited => "ChoiceStateExited",
            EventKind::PassStateEntered => "PassStateEntered",
            EventKind::PassStateExited => "PassStateExited",
            EventKind::WaitStateEntered => "WaitStateEntered",
            EventKind::WaitStateExited => "WaitStateExited",
            EventKind::ParallelStateEntered => "ParallelStateEntered",
            EventKind::ParallelStateStarted => "ParallelStateStarted",
            EventKind::ParallelStateSucceeded => "ParallelStateSucceeded",
            EventKind::ParallelStateFailed => "ParallelStateFailed",
            EventKind::ParallelStateExited => "ParallelStateExited",
            EventKind::MapStateEntered => "MapStateEntered",
            EventKind::MapStateStarted => "MapStateStarted",
            EventKind::MapStateSucceeded => "MapStateSucceeded",
            EventKind::MapStateFailed => "MapStateFailed",
            EventKind::MapStateExited => "MapStateExited",
            EventKind::SucceedStateEntered => "SucceedStateEntered",
            EventKind::SucceedStateExited => "SucceedStateExited",
            EventKind::FailStateEntered => "FailStateEntered",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
