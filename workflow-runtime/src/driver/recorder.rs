//! What the driver tells whoever records an execution: the engine's
//! recorder writes histories and checkpoints; inline runs use [`Silent`].

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use super::Progress;
use crate::error::{ErrorInfo, ExecutionError};
use crate::history::EventKind;
use crate::journal::Journal;
use crate::workflow::Workflow;

/// Hears what the driver does. Inline runs use [`Silent`]; the engine
/// records a history and writes each transition to its store.
pub(crate) trait Recorder<W: Workflow>: Send {
    /// Records one event. An error (a payload over the size limit, a full
    /// history) ends the execution with that error.
    fn record(
        &mut self,
        kind: EventKind,
        state: Option<&'static str>,
        data: Data<'_, W>,
    ) -> Result<(), ExecutionError>;

    /// Writes one transition: the checkpoint, the progress and the events
    /// recorded since the last one.
    ///
    /// `unchanged` says the checkpoint is the value last passed in a
    /// [`Data::Checkpoint`] or [`Data::Unchanged`], so a serialization of it
    /// can be reused.
    fn commit(
        &mut self,
        checkpoint: &W,
        progress: &Progress,
        unchanged: bool,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send;

    /// Writes the checkpoint last committed again, with new `progress`:
    /// for a task that parks on its callback, whose step future, which
    /// owned the state's value, is gone.
    fn commit_again(
        &mut self,
        progress: &Progress,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send;

    /// Writes the execution's end.
    fn end(
        &mut self,
        outcome: Result<&W::Output, &ExecutionError>,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send;

    /// How many states make one unit of tokio's cooperative budget (128
    /// units per poll of a task, then it yields). One for a recorder that
    /// writes every transition; an inline state costs less than the budget
    /// call itself, so a few of them make a unit.
    const STATES_PER_BUDGET_UNIT: u32 = 1;

    /// Whether the recorder hears anything at all. A recorder that does not
    /// (inline runs) is never called: the driver skips the history events,
    /// the commits and their futures.
    const RECORDS: bool = true;

    /// Where branches and map items report their start and end, and
    /// write their outputs. `resumed` is the state entry and attempt the
    /// run resumes in, if it resumes in the middle of one: children of it
    /// may have finished in an earlier run.
    fn journal(&self, resumed: Option<(u64, u32)>) -> Option<Arc<dyn Journal>> {
        let _ = resumed;
        None
    }

    /// The driver is back from an await (a state's step, a sleep, tokio's
    /// budget): time may have passed. Events recorded between two calls
    /// share one timestamp, so every await the driver makes before it
    /// records again must be followed by this.
    fn resumed(&mut self) {}

    /// Whether to park the execution until `wake_at` rather than sleep
    /// in memory. Only a recorder whose engine resumes parked executions
    /// may say yes.
    fn parks(&self, _wake_at: SystemTime) -> bool {
        false
    }

    /// Whether the engine is shutting down: the run then stops at its next
    /// checkpoint, as if parked, for another worker (or a restart) to go
    /// on from there.
    fn stops(&self) -> bool {
        false
    }
}

/// An event's data, serialized only by a recorder that wants it.
pub(crate) enum Data<'a, W: Workflow> {
    None,
    /// A checkpoint value the recorder has not seen.
    Checkpoint(&'a W),
    /// The checkpoint value last recorded or committed, again: the same
    /// state entered after it was exited into, or after a wait.
    Unchanged(&'a W),
    Output(&'a W::Output),
    Error(&'a ErrorInfo),
}

impl<'a, W: Workflow> Data<'a, W> {
    /// The checkpoint's data, [`Data::Unchanged`] if the recorder has `seen` it.
    pub(super) fn of(checkpoint: &'a W, seen: bool) -> Self {
        if seen {
            Data::Unchanged(checkpoint)
        } else {
            Data::Checkpoint(checkpoint)
        }
    }
}

/// The recorder of inline runs: hears nothing, writes nothing.
pub(crate) struct Silent;

impl<W: Workflow> Recorder<W> for Silent {
    /// A loop of inline states that never wait yields after 512 of them
    /// (tens of microseconds) instead of 128.
    const STATES_PER_BUDGET_UNIT: u32 = 4;

    const RECORDS: bool = false;

    #[inline]
    fn record(
        &mut self,
        _: EventKind,
        _: Option<&'static str>,
        _: Data<'_, W>,
    ) -> Result<(), ExecutionError> {
        Ok(())
    }

    #[inline]
    fn commit(
        &mut self,
        _: &W,
        _: &Progress,
        _: bool,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send {
        std::future::ready(Ok(()))
    }

    #[inline]
    fn commit_again(
        &mut self,
        _: &Progress,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send {
        std::future::ready(Ok(()))
    }

    #[inline]
    fn end(
        &mut self,
        _: Result<&W::Output, &ExecutionError>,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send {
        std::future::ready(Ok(()))
    }
}
