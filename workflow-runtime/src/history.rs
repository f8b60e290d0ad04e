//! An execution's history: an ordered list of events in Step Functions'
//! vocabulary.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use workflow_core::export::{Overlay, Visit};

/// One event of an execution's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// 1 for the first event, then consecutive.
    pub id: u64,
    /// The id of the event before this one; 0 for the first.
    pub previous_event_id: u64,
    /// When it happened, on the engine's clock (RFC 3339 in JSON).
    #[serde(with = "crate::serde_time::rfc3339")]
    pub timestamp: SystemTime,
    /// What happened.
    pub kind: EventKind,
    /// The state it concerns, if any: borrowed from the definition when the
    /// engine records it (state names are static), owned when read back
    /// from a store. Build it with `Some("Name".into())` from either.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Cow<'static, str>>,
    /// Its data as JSON text: a state's input or output, an execution's
    /// output, or an error's name and cause. Serialized as the JSON itself.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::serde_time::json_text"
    )]
    pub data: Option<String>,
}

impl Event {
    /// The event's data as a JSON value, to read fields of it
    /// (`event.data_value()?["index"]`).
    ///
    /// The field keeps the JSON text the engine wrote (a state's data is
    /// cut from the checkpoint the same transition writes), so recording an
    /// event costs no second serialization and no tree of values per
    /// transition, and a store writes it as it is. Serialized (to a client, say), it is the
    /// JSON itself, not a string holding it.
    ///
    /// # Errors
    ///
    /// The parser's error if the text is not JSON (a store's row changed by
    /// hand, say); `Ok(None)` for an event without data.
    pub fn data_value(&self) -> Result<Option<serde_json::Value>, serde_json::Error> {
        self.data.as_deref().map(serde_json::from_str).transpose()
    }
}

/// Declares `EventKind` from one list: the variants, their names and `ALL`.
macro_rules! event_kinds {
    ($($(#[$doc:meta])* $kind:ident,)*) => {
        /// What an event records, named as Step Functions names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[allow(missing_docs)] // Each variant is the Step Functions event of that name.
        pub enum EventKind {
            $($(#[$doc])* $kind,)*
        }

        impl EventKind {
            /// Every kind of event.
            pub const ALL: &'static [EventKind] = &[$(EventKind::$kind,)*];

            /// The event's name, as Step Functions spells it.
            pub fn name(self) -> &'static str {
                match self {
                    $(EventKind::$kind => stringify!($kind),)*
                }
            }
        }
    };
}

event_kinds! {
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
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapIterationAborted,
    /// Not in Step Functions' vocabulary (which logs a branch only through
    /// its states): one branch of a Parallel state started.
    ParallelBranchStarted,
    /// One branch of a Parallel state succeeded.
    ParallelBranchSucceeded,
    /// One branch of a Parallel state failed.
    ParallelBranchFailed,
    /// One branch of a Parallel state was cancelled because a sibling failed
    /// (or the execution was).
    ParallelBranchAborted,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    /// Not in Step Functions' vocabulary: the execution goes on from its
    /// last checkpoint in a new run (after a crash, a takeover by another
    /// worker, or a shutdown), in the middle of a state. What the state
    /// recorded before it (`TaskScheduled`, `TaskStarted`) is recorded
    /// again after it; a task runs again with the same idempotency key.
    ExecutionResumed,
}

impl EventKind {
    /// The kind with this name, as [`EventKind::name`] spells it.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.name() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The path an execution took, read from its history, for
/// [`Definition::to_mermaid_overlay`](workflow_core::Definition::to_mermaid_overlay)
/// and [`Definition::to_dot_overlay`](workflow_core::Definition::to_dot_overlay).
///
/// Each state is marked by its latest visit: in progress from its entry (or
/// a retry's restart), failed at a failure, then caught if it still exited,
/// succeeded if it exited without one. An execution that timed out or was
/// cancelled marks the state it was in as aborted; one that failed marks it
/// as failed. A state whose last attempt failed, in an execution that has
/// not ended, is backing off before a retry: in progress. The events of branches and map items are their parent state's
/// business and leave the overlay alone.
pub fn overlay(history: &[Event]) -> Overlay {
    use EventKind::*;
    let mut overlay = Overlay::new();
    // The state the execution is in, between its entry and its exit.
    let mut current: Option<&str> = None;
    for event in history {
        match (event.kind, event.state.as_deref()) {
            (
                TaskStateEntered | ChoiceStateEntered | PassStateEntered | WaitStateEntered
                | ParallelStateEntered | MapStateEntered,
                Some(state),
            ) => {
                overlay.visit(state, Visit::InProgress);
                current = Some(state);
            }
            (TaskScheduled | ParallelStateStarted | MapStateStarted, Some(state)) => {
                overlay.visit(state, Visit::InProgress);
                current = Some(state);
            }
            (TaskFailed | TaskTimedOut | ParallelStateFailed | MapStateFailed, Some(state)) => {
                overlay.visit(state, Visit::Failed);
                current = Some(state);
            }
            (
                TaskStateExited | ChoiceStateExited | PassStateExited | WaitStateExited
                | ParallelStateExited | MapStateExited,
                Some(state),
            ) => {
                let visit = match overlay.get(state) {
                    Some(Visit::Failed) => Visit::Caught,
                    _ => Visit::Succeeded,
                };
                overlay.visit(state, visit);
                current = None;
            }
            (SucceedStateEntered | SucceedStateExited, Some(state)) => {
                overlay.visit(state, Visit::Succeeded);
                current = None;
            }
            (FailStateEntered, Some(state)) => {
                overlay.visit(state, Visit::Failed);
                current = None;
            }
            (ExecutionFailed, _) => {
                if let Some(state) = current.take() {
                    overlay.visit(state, Visit::Failed);
                }
            }
            (ExecutionTimedOut | ExecutionAborted, _) => {
                if let Some(state) = current.take() {
                    overlay.visit(state, Visit::Aborted);
                }
            }
            _ => {}
        }
    }
    // A failed attempt with nothing after it is a retry's backoff: the
    // execution is still in that state.
    let ended = history.iter().any(|e| {
        matches!(
            e.kind,
            ExecutionSucceeded | ExecutionFailed | ExecutionTimedOut | ExecutionAborted
        )
    });
    if let (false, Some(state)) = (ended, current) {
        overlay.visit(state, Visit::InProgress);
    }
    overlay
}

/// An execution's history as a timeline, one line per event: the time since
/// the first event, the event, its state and its data (long data cut short).
///
/// ```text
///   +0.000s  #1  ExecutionStarted        -        {"order":7}
///   +0.000s  #2  TaskStateEntered        Reserve  {"Reserve":{"order":7}}
/// ```
pub fn timeline(history: &[Event]) -> Timeline<'_> {
    Timeline(history)
}

/// What [`timeline`] returns: display it.
#[derive(Debug, Clone, Copy)]
pub struct Timeline<'a>(&'a [Event]);

impl fmt::Display for Timeline<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Longer data is cut to this many characters.
        const DATA: usize = 80;
        let Some(first) = self.0.first() else {
            return Ok(());
        };
        let width = |text: &dyn Fn(&Event) -> usize| self.0.iter().map(text).max().unwrap_or(0);
        let kind_width = width(&|e| e.kind.name().len());
        let state_width = width(&|e| e.state.as_deref().map_or(1, |s| s.chars().count()));
        let id_width = width(&|e| e.id.to_string().len()) + 1;
        for event in self.0 {
            let since = event
                .timestamp
                .duration_since(first.timestamp)
                .unwrap_or_default();
            let data = event.data.as_deref().unwrap_or("");
            let data = if data.chars().count() > DATA {
                let cut: String = data.chars().take(DATA - 3).collect();
                format!("{cut}...")
            } else {
                data.to_owned()
            };
            let line = format!(
                "  +{:.3}s  {:<id_width$}  {:<kind_width$}  {:<state_width$}  {data}",
                since.as_secs_f64(),
                format!("#{}", event.id),
                event.kind.name(),
                event.state.as_deref().unwrap_or("-"),
            );
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_through_its_name_once() {
        let mut names: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
        for &kind in EventKind::ALL {
            assert_eq!(EventKind::from_name(kind.name()), Some(kind));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::ALL.len());
        assert_eq!(EventKind::from_name("NoSuchEvent"), None);
    }
}
