//! The history an execution's run has recorded but not written yet, and
//! the journal its children (branches, map items) report to: their events
//! join it, and a child that succeeds is written at once with its output.
//!
//! Writes follow one another: a write waits for the child write before it,
//! if one is still in flight (children finish concurrently, and a child
//! whose sibling failed may be dropped in the middle of its write), and
//! then takes every event recorded so far. Whoever writes next finishes the
//! one before first, so the store sees one writer and consecutive event
//! ids. Children that finish while a write is in flight queue up, and the
//! next write takes them all: a map of many items writes about as often as
//! the store can answer, not once per item when the store is slow.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures_util::FutureExt;
use futures_util::future::Shared;

use super::lock;
use crate::clock::Clock;
use crate::error::ExecutionError;
use crate::history::{Event, EventKind};
use crate::journal::{ChildEvent, ChildKey, Journal, JournalFuture};
use crate::store::{ChildTransition, FinishedChild, Store, StoreError};

/// A child's write, awaited by the write after it.
pub(super) type ChildWrite =
    Shared<Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'static>>>;

/// Events recorded since the last write, shared with the children that
/// report into the same history.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) events: Vec<Event>,
    pub(super) last_id: u64,
    /// The last child write, until a later write has seen it finish.
    pub(super) writing: Option<ChildWrite>,
    /// The last child write if it waits for the one before it: it has not
    /// taken the children yet, so a child that finishes now goes with it
    /// (rather than in a write of its own after it: a chain of writes each
    /// waiting for the one before would be polled as deep as it is long).
    queued: Option<ChildWrite>,
    /// Children that finished since the last child write began.
    finished: Vec<FinishedChild>,
}

impl Pending {
    pub(super) fn new(last_id: u64) -> Self {
        Pending {
            events: Vec::new(),
            last_id,
            writing: None,
            queued: None,
            finished: Vec::new(),
        }
    }

    pub(super) fn push(
        &mut self,
        kind: EventKind,
        state: Option<&'static str>,
        data: Option<String>,
        timestamp: SystemTime,
    ) {
        let previous = self.last_id;
        self.last_id += 1;
        self.events.push(Event {
            id: previous + 1,
            previous_event_id: previous,
            timestamp,
            kind,
            state: state.map(Cow::Borrowed),
            data,
        });
    }

    fn push_child(&mut self, events: [ChildEvent; 2]) {
        for event in events {
            self.push(event.kind, Some(event.state), event.data, event.at);
        }
    }
}

/// The journal of one run of an execution.
pub(super) struct EngineJournal {
    pub(super) pending: Arc<Mutex<Pending>>,
    pub(super) clock: Clock,
    pub(super) store: Arc<dyn Store>,
    pub(super) id: String,
    pub(super) fence: u64,
    /// The state entry and attempt the run resumed in, if it resumed in
    /// the middle of one: only its children can have finished before.
    pub(super) resumed: Option<(u64, u32)>,
    /// The outputs of `resumed`'s finished children by index, read from
    /// the store when the first child asks; each is taken once used.
    pub(super) finished: tokio::sync::Mutex<Option<HashMap<u64, String>>>,
}

impl EngineJournal {
    /// A write of the children that finished, once `before` is written.
    fn next_write(&self, before: Option<ChildWrite>) -> ChildWrite {
        let (pending, store) = (Arc::clone(&self.pending), Arc::clone(&self.store));
        let (execution, fence) = (self.id.clone(), self.fence);
        let write: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(async move {
            if let Some(before) = before {
                before.await?;
            }
            let (children, events) = {
                let mut pending = lock(&pending);
                // From here on, a child that finishes needs a write after
                // this one.
                pending.queued = None;
                let children = std::mem::take(&mut pending.finished);
                (children, std::mem::take(&mut pending.events))
            };
            let transition = ChildTransition {
                execution,
                fence,
                children,
                events,
            };
            store.commit_children(transition).await
        });
        write.shared()
    }
}

impl Journal for EngineJournal {
    fn now(&self) -> SystemTime {
        self.clock.now()
    }

    fn record(&self, events: [ChildEvent; 2]) {
        lock(&self.pending).push_child(events);
    }

    fn finished(&self, key: ChildKey) -> JournalFuture<'_, Result<Option<String>, ExecutionError>> {
        Box::pin(async move {
            if self.resumed != Some((key.entry, key.attempt)) {
                return Ok(None);
            }
            let mut finished = self.finished.lock().await;
            if finished.is_none() {
                let children = self
                    .store
                    .children(&self.id, key.entry, key.attempt)
                    .await
                    .map_err(ExecutionError::Store)?;
                *finished = Some(children.into_iter().map(|c| (c.index, c.output)).collect());
            }
            let index = u64::try_from(key.index).unwrap_or(u64::MAX);
            Ok(finished.as_mut().and_then(|outputs| outputs.remove(&index)))
        })
    }

    fn checkpoint(
        &self,
        key: ChildKey,
        events: [ChildEvent; 2],
        output: String,
    ) -> JournalFuture<'static, Result<(), ExecutionError>> {
        let write = {
            let mut pending = lock(&self.pending);
            pending.push_child(events);
            pending.finished.push(FinishedChild {
                entry: key.entry,
                attempt: key.attempt,
                index: u64::try_from(key.index).unwrap_or(u64::MAX),
                output,
            });
            match &pending.queued {
                Some(queued) => queued.clone(),
                None => {
                    let write = self.next_write(pending.writing.take());
                    pending.writing = Some(write.clone());
                    pending.queued = Some(write.clone());
                    write
                }
            }
        };
        Box::pin(async move { write.await.map_err(ExecutionError::Store) })
    }
}
