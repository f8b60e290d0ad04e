//! The history events each kind of state records, as constants.

use workflow_core::Kind;

use crate::error::ErrorInfo;
use crate::history::EventKind;

/// The history events of one kind of state.
pub(super) struct Events {
    pub(super) entered: EventKind,
    pub(super) started: Option<EventKind>,
    pub(super) succeeded: Option<EventKind>,
    pub(super) failed: Option<EventKind>,
    pub(super) exited: Option<EventKind>,
}

impl Events {
    /// The events of `kind`: a constant per kind, so the loop reads them
    /// instead of building them at every state.
    pub(super) fn of(kind: &Kind) -> &'static Events {
        use EventKind::*;
        const fn plain(entered: EventKind, exited: Option<EventKind>) -> Events {
            Events {
                entered,
                started: None,
                succeeded: None,
                failed: None,
                exited,
            }
        }
        const TASK: Events = Events {
            entered: TaskStateEntered,
            started: None,
            succeeded: Some(TaskSucceeded),
            failed: Some(TaskFailed),
            exited: Some(TaskStateExited),
        };
        const PARALLEL: Events = Events {
            entered: ParallelStateEntered,
            started: Some(ParallelStateStarted),
            succeeded: Some(ParallelStateSucceeded),
            failed: Some(ParallelStateFailed),
            exited: Some(ParallelStateExited),
        };
        const MAP: Events = Events {
            entered: MapStateEntered,
            started: Some(MapStateStarted),
            succeeded: Some(MapStateSucceeded),
            failed: Some(MapStateFailed),
            exited: Some(MapStateExited),
        };
        const CHOICE: Events = plain(ChoiceStateEntered, Some(ChoiceStateExited));
        const PASS: Events = plain(PassStateEntered, Some(PassStateExited));
        const WAIT: Events = plain(WaitStateEntered, Some(WaitStateExited));
        const SUCCEED: Events = plain(SucceedStateEntered, Some(SucceedStateExited));
        const FAIL: Events = plain(FailStateEntered, None);
        match kind {
            Kind::Task { .. } => &TASK,
            Kind::Parallel { .. } => &PARALLEL,
            Kind::Map { .. } => &MAP,
            Kind::Choice { .. } => &CHOICE,
            Kind::Pass { .. } => &PASS,
            Kind::Wait { .. } => &WAIT,
            Kind::Succeed => &SUCCEED,
            Kind::Fail { .. } => &FAIL,
        }
    }

    /// A failed attempt: `TaskTimedOut` for a task's timeout, else the kind's
    /// failure event.
    pub(super) fn failed(&self, error: &ErrorInfo) -> EventKind {
        let timed_out = error.name == "States.Timeout" || error.name == "States.HeartbeatTimeout";
        match self.failed {
            Some(EventKind::TaskFailed) if timed_out => EventKind::TaskTimedOut,
            Some(kind) => kind,
            None => EventKind::ExecutionFailed,
        }
    }
}
