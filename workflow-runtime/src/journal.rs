//! Where a state's children report, in their parent's history: the
//! [`Journal`] the driver hands them (the engine's writes their events and
//! checkpoints, `engine/journal.rs`), and what they report. Plain data, so
//! that the step protocol can hold a journal without knowing how children
//! run (`workflow/children.rs`).

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use crate::error::ExecutionError;
use crate::history::EventKind;

/// A boxed future of the journal's.
pub(crate) type JournalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where children report, in their parent's history. Shared, so many
/// children can report at once; the engine's serializes their writes.
pub(crate) trait Journal: Send + Sync {
    /// The time now, on the engine's clock.
    fn now(&self) -> SystemTime;

    /// Records a child's events, to be written with the parent's next write.
    fn record(&self, events: [ChildEvent; 2]);

    /// The output of child `key`, if it finished in an earlier run of this
    /// execution.
    fn finished(&self, key: ChildKey) -> JournalFuture<'_, Result<Option<String>, ExecutionError>>;

    /// Records a child's events and writes them now, with its output.
    fn checkpoint(
        &self,
        key: ChildKey,
        events: [ChildEvent; 2],
        output: String,
    ) -> JournalFuture<'static, Result<(), ExecutionError>>;
}

/// Which child: its state's entry and attempt, and its position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChildKey {
    pub(crate) entry: u64,
    pub(crate) attempt: u32,
    pub(crate) index: usize,
}

/// One event of a child, not numbered yet.
#[derive(Debug)]
pub(crate) struct ChildEvent {
    pub(crate) kind: EventKind,
    pub(crate) state: &'static str,
    pub(crate) data: Option<String>,
    pub(crate) at: SystemTime,
}
