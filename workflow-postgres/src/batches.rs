//! Group writes: what many callers ask for at once, in one statement.
//!
//! A [`Batches`] queue serves one kind of write (commits, starts). A writer
//! task takes what has queued (up to [`MAX_BATCH`] items), hands it to the
//! kind's statement on a task of its own, and goes on gathering the next
//! batch while up to `in_flight` are on their way; so batches grow with
//! the load, while a quiet store writes each item at once. A batch is one
//! round trip and one transaction, however many executions it touches.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::AbortHandle;
use workflow_runtime::store::StoreError;

use crate::Shared;
use crate::io::Io;

/// The most items one statement carries: enough that a busy worker's
/// round trips stop being the limit, few enough that one statement's
/// parameters stay small.
pub(crate) const MAX_BATCH: usize = 256;

/// A kind of write that is grouped.
pub(crate) trait Batched: Send + Sync + Sized + 'static {
    /// What a caller gets back.
    type Output: Send + 'static;

    /// What one statement may hold once (an execution's id, a name): a
    /// second item with a key already in the batch waits for the next.
    fn key(&self) -> &str;

    /// Writes a batch as one statement: the ids of the executions it
    /// wrote.
    fn write(
        shared: &Shared,
        batch: &[&Self],
    ) -> impl Future<Output = Result<HashSet<String>, StoreError>> + Send;

    /// One item's outcome, given the executions its statement wrote.
    fn outcome(
        &self,
        shared: &Shared,
        written: &HashSet<String>,
    ) -> impl Future<Output = Result<Self::Output, StoreError>> + Send;
}

/// An item waiting in a queue, and where its outcome goes.
struct Queued<T: Batched> {
    item: Arc<T>,
    answer: oneshot::Sender<Result<T::Output, StoreError>>,
}

impl<T: Batched> Queued<T> {
    /// Answers the caller (who may have stopped waiting).
    fn answer(self, outcome: Result<T::Output, StoreError>) {
        let _ = self.answer.send(outcome);
    }
}

/// How a store's writes were grouped, since it connected: see
/// [`PostgresStore::group_commits`](crate::PostgresStore::group_commits)
/// and [`PostgresStore::group_starts`](crate::PostgresStore::group_starts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GroupedWrites {
    /// Statements written (batches).
    pub batches: u64,
    /// Items they carried: transitions, or starts.
    pub items: u64,
}

impl GroupedWrites {
    /// Items per batch, on average (0 before the first).
    pub fn mean_batch(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.items as f64 / self.batches as f64
        }
    }
}

/// The queue into one kind's writer task.
#[derive(Debug)]
pub(crate) struct Batches<T: Batched> {
    queue: mpsc::UnboundedSender<Queued<T>>,
    counted: Arc<Counters>,
    /// The writer, stopped with the store.
    writer: AbortHandle,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    items: AtomicU64,
}

impl<T: Batched> Drop for Batches<T> {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

impl<T: Batched> Batches<T> {
    /// Starts the writer where the store's work runs, with at most
    /// `in_flight` batches written at once.
    pub(crate) fn start(
        shared: Arc<Shared>,
        io: &Io,
        in_flight: usize,
    ) -> Result<Self, StoreError> {
        let (queue, queued) = mpsc::unbounded_channel();
        let counted = Arc::new(Counters::default());
        let writer = io.spawn(gather(
            shared,
            queued,
            in_flight.max(1),
            Arc::clone(&counted),
        ))?;
        Ok(Batches {
            queue,
            counted,
            writer,
        })
    }

    /// Queues an item and waits for the batch that writes it.
    pub(crate) async fn write(&self, item: Arc<T>) -> Result<T::Output, StoreError> {
        let (answer, outcome) = oneshot::channel();
        self.queue
            .send(Queued { item, answer })
            .map_err(|_| StoreError::Closed)?;
        outcome.await.unwrap_or(Err(StoreError::Closed))
    }

    /// The counts so far.
    pub(crate) fn counts(&self) -> GroupedWrites {
        GroupedWrites {
            batches: self.counted.batches.load(Ordering::Relaxed),
            items: self.counted.items.load(Ordering::Relaxed),
        }
    }
}

/// The writer: takes a permit, then what has queued, and writes it on a
/// task of its own, so that up to `in_flight` batches are on their way at
/// once while the next one gathers.
async fn gather<T: Batched>(
    shared: Arc<Shared>,
    mut queued: mpsc::UnboundedReceiver<Queued<T>>,
    in_flight: usize,
    counted: Arc<Counters>,
) {
    let permits = Arc::new(Semaphore::new(in_flight));
    let mut held_over: Option<Queued<T>> = None;
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let first = match held_over.take() {
            Some(queued) => queued,
            None => match queued.recv().await {
                Some(queued) => queued,
                None => return,
            },
        };
        let mut keys = HashSet::from([first.item.key().to_owned()]);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            let Ok(next) = queued.try_recv() else { break };
            if !keys.insert(next.item.key().to_owned()) {
                held_over = Some(next);
                break;
            }
            batch.push(next);
        }
        counted.batches.fetch_add(1, Ordering::Relaxed);
        counted
            .items
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            write_and_answer(&shared, batch).await;
            drop(permit);
        });
    }
}

/// Writes a batch and answers every item in it. A batch that fails as a
/// whole for another reason than an unavailable database (which every
/// caller retries) is written again one item at a time, so that one bad
/// item fails alone.
async fn write_and_answer<T: Batched>(shared: &Shared, batch: Vec<Queued<T>>) {
    let items: Vec<&T> = batch.iter().map(|q| &*q.item).collect();
    match T::write(shared, &items).await {
        Ok(written) => {
            for queued in batch {
                let outcome = queued.item.outcome(shared, &written).await;
                queued.answer(outcome);
            }
        }
        Err(error) if batch.len() == 1 || matches!(error, StoreError::Unavailable(_)) => {
            for queued in batch {
                queued.answer(Err(error.clone()));
            }
        }
        Err(error) => {
            tracing::warn!(%error, size = batch.len(), "a grouped write failed; writing its items one by one");
            for queued in batch {
                let outcome = match T::write(shared, &[&*queued.item]).await {
                    Ok(written) => queued.item.outcome(shared, &written).await,
                    Err(error) => Err(error),
                };
                queued.answer(outcome);
            }
        }
    }
}
