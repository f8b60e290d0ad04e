//! Group commit: the transitions of many executions in one statement.
//!
//! Every [`Store::commit`](workflow_runtime::store::Store::commit) of a
//! store goes through one queue. A writer task takes what has queued (up
//! to [`MAX_BATCH`] transitions), writes it as one statement, and answers
//! each caller; while its batches are in flight the queue fills again, so
//! batches grow with the load while a quiet store writes each transition
//! at once. A batch is one round trip and one transaction, however many
//! executions it moves on.
//!
//! A batch changes each execution it names only if that execution's guard
//! holds (the fence, still running, the history's end where the writer
//! thought it was), exactly as a single commit would; the rows it changed
//! come back, and every other transition is told why it was refused, one
//! by one. A batch that fails as a whole for another reason than an
//! unavailable database (which every caller retries) is written again one
//! transition at a time, so one bad transition fails alone.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::AbortHandle;
use workflow_runtime::Status;
use workflow_runtime::store::{StoreError, Transition};

use crate::Shared;
use crate::io::Io;
use crate::rows::{EventColumns, big, database, nanos};

/// The most transitions one statement carries: enough that a busy worker's
/// round trips stop being the limit, few enough that one statement's
/// parameters stay small.
pub(crate) const MAX_BATCH: usize = 256;

/// How the store's commits were grouped, since it connected: see
/// [`PostgresStore::group_commits`](crate::PostgresStore::group_commits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GroupCommits {
    /// Statements written (batches).
    pub batches: u64,
    /// Transitions they carried.
    pub transitions: u64,
}

impl GroupCommits {
    /// Transitions per batch, on average (0 before the first).
    pub fn mean_batch(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.transitions as f64 / self.batches as f64
        }
    }
}

/// A transition waiting in the queue, and where its outcome goes.
struct Queued {
    transition: Arc<Transition>,
    answer: oneshot::Sender<Result<(), StoreError>>,
}

/// The queue into the writer task.
#[derive(Debug)]
pub(crate) struct Commits {
    queue: mpsc::UnboundedSender<Queued>,
    counted: Arc<Counters>,
    /// The writer, stopped with the store.
    writer: AbortHandle,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicU64,
    transitions: AtomicU64,
}

impl Drop for Commits {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

impl Commits {
    /// Starts the writer where the store's work runs, with at most
    /// `in_flight` batches written at once.
    pub(crate) fn start(
        shared: Arc<Shared>,
        io: &Io,
        in_flight: usize,
    ) -> Result<Commits, StoreError> {
        let (queue, queued) = mpsc::unbounded_channel();
        let counted = Arc::new(Counters::default());
        let writer = io.spawn(write_batches(
            shared,
            queued,
            in_flight.max(1),
            Arc::clone(&counted),
        ))?;
        Ok(Commits {
            queue,
            counted,
            writer,
        })
    }

    /// Queues a transition and waits for the batch that writes it.
    pub(crate) async fn commit(&self, transition: Arc<Transition>) -> Result<(), StoreError> {
        let (answer, outcome) = oneshot::channel();
        self.queue
            .send(Queued { transition, answer })
            .map_err(|_| StoreError::Closed)?;
        outcome.await.unwrap_or(Err(StoreError::Closed))
    }

    /// The counts so far.
    pub(crate) fn counts(&self) -> GroupCommits {
        GroupCommits {
            batches: self.counted.batches.load(Ordering::Relaxed),
            transitions: self.counted.transitions.load(Ordering::Relaxed),
        }
    }
}

/// The writer: takes a permit, then what has queued, and writes it on a
/// task of its own, so that up to `in_flight` batches are on their way at
/// once while the next one gathers.
async fn write_batches(
    shared: Arc<Shared>,
    mut queued: mpsc::UnboundedReceiver<Queued>,
    in_flight: usize,
    counted: Arc<Counters>,
) {
    let permits = Arc::new(Semaphore::new(in_flight));
    // A second transition of an execution already in the batch waits for
    // the next one: one statement updates a row once.
    let mut held_over: Option<Queued> = None;
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
        let mut ids = HashSet::from([first.transition.execution.clone()]);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            let Ok(next) = queued.try_recv() else { break };
            if !ids.insert(next.transition.execution.clone()) {
                held_over = Some(next);
                break;
            }
            batch.push(next);
        }
        counted.batches.fetch_add(1, Ordering::Relaxed);
        counted
            .transitions
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            shared.write_batch(batch).await;
            drop(permit);
        });
    }
}

impl Shared {
    /// Writes a batch and answers each transition in it.
    async fn write_batch(&self, batch: Vec<Queued>) {
        let transitions: Vec<&Transition> = batch.iter().map(|q| &*q.transition).collect();
        match self.commit_batch(&transitions).await {
            Ok(updated) => {
                for queued in batch {
                    let outcome = self.outcome(&queued.transition, &updated).await;
                    let _ = queued.answer.send(outcome);
                }
            }
            Err(error @ StoreError::Unavailable(_)) => {
                for queued in batch {
                    let _ = queued.answer.send(Err(error.clone()));
                }
            }
            Err(error) if batch.len() == 1 => {
                for queued in batch {
                    let _ = queued.answer.send(Err(error.clone()));
                }
            }
            Err(error) => {
                tracing::warn!(%error, size = batch.len(), "a group commit failed; writing its transitions one by one");
                for queued in batch {
                    let transition = &*queued.transition;
                    let outcome = match self.commit_batch(&[transition]).await {
                        Ok(updated) => self.outcome(transition, &updated).await,
                        Err(error) => Err(error),
                    };
                    let _ = queued.answer.send(outcome);
                }
            }
        }
    }

    /// A transition's outcome, given the executions its batch changed.
    async fn outcome(
        &self,
        transition: &Transition,
        updated: &HashSet<String>,
    ) -> Result<(), StoreError> {
        self.written(
            updated.contains(&transition.execution),
            &transition.execution,
            transition.fence,
            &transition.events,
            Some(&transition.checkpoint),
        )
        .await
    }

    /// One statement for the batch: the executions whose guard held, with
    /// their checkpoints and events written.
    async fn commit_batch(
        &self,
        transitions: &[&Transition],
    ) -> Result<HashSet<String>, StoreError> {
        let columns = BatchColumns::of(transitions);
        let rows = self
            .query(
                &self.sql.commit,
                &[
                    &columns.ids,
                    &columns.fences,
                    &columns.follows,
                    &columns.states,
                    &columns.entries,
                    &columns.attempts,
                    &columns.retries,
                    &columns.waiting,
                    &columns.wake_at,
                    &columns.statuses,
                    &columns.outputs,
                    &columns.error_names,
                    &columns.error_causes,
                    &columns.stopped_at,
                    &columns.last_event_ids,
                    &columns.state_names,
                    &columns.events.executions,
                    &columns.events.ids,
                    &columns.events.previous_ids,
                    &columns.events.ats,
                    &columns.events.kinds,
                    &columns.events.states,
                    &columns.events.data,
                    &Status::Running.name(),
                ],
            )
            .await?;
        rows.iter()
            .map(|row| row.try_get::<_, String>(0).map_err(database))
            .collect()
    }
}

/// A batch as the statement takes it: a column per checkpoint field, one
/// entry per transition, and the events of all of them, each naming its
/// execution.
#[derive(Default)]
struct BatchColumns<'a> {
    ids: Vec<&'a str>,
    fences: Vec<i64>,
    follows: Vec<Option<i64>>,
    states: Vec<&'a str>,
    entries: Vec<i64>,
    attempts: Vec<i64>,
    /// Each transition's retry counters as an array literal (`{1,0}`): an
    /// array of arrays would have to be rectangular.
    retries: Vec<String>,
    waiting: Vec<Option<&'a str>>,
    wake_at: Vec<Option<i64>>,
    statuses: Vec<&'a str>,
    outputs: Vec<Option<&'a str>>,
    error_names: Vec<Option<&'a str>>,
    error_causes: Vec<Option<&'a str>>,
    stopped_at: Vec<Option<i64>>,
    last_event_ids: Vec<Option<i64>>,
    state_names: Vec<&'a str>,
    events: EventColumns<'a>,
}

impl<'a> BatchColumns<'a> {
    fn of(transitions: &[&'a Transition]) -> Self {
        let mut columns = BatchColumns::default();
        for transition in transitions {
            columns.push(transition);
        }
        columns
    }

    fn push(&mut self, transition: &'a Transition) {
        let c = &transition.checkpoint;
        let events = &transition.events;
        self.ids.push(&transition.execution);
        self.fences.push(big(transition.fence));
        self.follows
            .push(events.first().map(|e| big(e.previous_event_id)));
        self.states.push(&c.state);
        self.entries.push(big(c.entry));
        self.attempts.push(i64::from(c.attempt));
        let counters: Vec<String> = c.retries.iter().map(u32::to_string).collect();
        self.retries.push(format!("{{{}}}", counters.join(",")));
        self.waiting.push(c.waiting.as_deref());
        self.wake_at.push(c.wake_at.map(nanos));
        self.statuses.push(c.status.name());
        self.outputs.push(c.output.as_deref());
        self.error_names
            .push(c.error.as_ref().map(|e| e.name.as_str()));
        self.error_causes
            .push(c.error.as_ref().map(|e| e.cause.as_str()));
        self.stopped_at.push(transition.stopped_at.map(nanos));
        self.last_event_ids.push(events.last().map(|e| big(e.id)));
        self.state_names.push(&c.state_name);
        self.events.push(&transition.execution, events);
    }
}
