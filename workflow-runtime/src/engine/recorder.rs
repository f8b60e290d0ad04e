//! The engine's recorder: serializes each event's data, enforces the
//! payload and history limits, and writes each transition to the store.

use std::borrow::Cow;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use futures_util::future::Either;
use serde::Serialize;

use super::journal::{EngineJournal, Pending};
use super::{Limits, Status, lock};
use crate::clock::Clock;
use crate::driver::{Data, Progress, Recorder};
use crate::error::{ErrorInfo, ExecutionError, Failure};
use crate::history::EventKind;
use crate::journal::Journal;
use crate::store::{Checkpoint, Store, Transition};
use crate::workflow::Workflow;

pub(crate) struct DurableRecorder {
    store: Arc<dyn Store>,
    id: String,
    fence: u64,
    pending: Arc<Mutex<Pending>>,
    limits: Limits,
    clock: Clock,
    /// The last committed state, for the final write.
    last: Last,
    /// The checkpoint value last serialized, reused while it is unchanged.
    serialized: Option<Serialized>,
    /// Park waits longer than this (see `EngineBuilder::park_after`).
    park_after: Option<std::time::Duration>,
    /// Set when the engine shuts down.
    stopping: Option<Arc<std::sync::atomic::AtomicBool>>,
    /// The time of the events recorded since the driver last resumed from
    /// an await (see `Recorder::resumed`).
    instant: Option<SystemTime>,
}

impl DurableRecorder {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        id: String,
        fence: u64,
        last_event_id: u64,
        limits: Limits,
        clock: Clock,
        last: (String, String),
    ) -> Self {
        DurableRecorder {
            store,
            id,
            fence,
            pending: Arc::new(Mutex::new(Pending::new(last_event_id))),
            limits,
            clock,
            last: Last {
                json: Some(last.0),
                name: Cow::Owned(last.1),
            },
            serialized: None,
            park_after: None,
            stopping: None,
            instant: None,
        }
    }

    /// Parks waits longer than `park_after`.
    pub(crate) fn parking_after(mut self, park_after: Option<std::time::Duration>) -> Self {
        self.park_after = park_after;
        self
    }

    /// Stops at the next checkpoint once `stopping` is set.
    pub(crate) fn stopping(mut self, stopping: Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.stopping = Some(stopping);
        self
    }

    /// Writes the end of a cancelled execution.
    pub(crate) async fn abort(&mut self) -> Result<(), ExecutionError> {
        let now = self.clock.now();
        lock(&self.pending).push(EventKind::ExecutionAborted, None, None, now);
        let error = ExecutionError::Aborted;
        self.write_end(Status::Aborted, None, Some((&error.info(), None)))
            .await
    }

    /// Writes the end of an execution whose driver panicked.
    pub(crate) async fn crash<W>(&mut self, error: &ExecutionError) -> Result<(), ExecutionError>
    where
        W: Workflow + Serialize,
        W::Output: Serialize,
    {
        let _ = Recorder::<W>::record(
            self,
            EventKind::ExecutionFailed,
            None,
            Data::Error(&error.info()),
        );
        Recorder::<W>::end(self, Err(error)).await
    }

    /// Keeps `serialized` as the checkpoint value last serialized. The one
    /// it replaces moves to `last` if it is the last committed state.
    fn keep(&mut self, serialized: Serialized) {
        if let Some(old) = self.serialized.replace(serialized)
            && self.last.json.is_none()
        {
            self.last.json = Some(old.full);
        }
    }

    /// The last committed state as JSON.
    fn last_json(&self) -> String {
        match (&self.last.json, &self.serialized) {
            (Some(json), _) => json.clone(),
            (None, Some(serialized)) => serialized.full.clone(),
            // `last.json` is `None` only while `serialized` holds it.
            (None, None) => String::new(),
        }
    }

    /// Writes a transition of the running execution: its state's JSON, the
    /// name of the state it is in and its progress, with the events
    /// recorded since the last write.
    fn write_running(
        &mut self,
        state: String,
        name: &str,
        progress: &Progress,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send + use<'_> {
        self.write(
            Checkpoint {
                state,
                // While it waits, the checkpoint already holds the state
                // after the wait; the execution is still in the Wait
                // state, and that is what it is listed as.
                state_name: progress.waiting.unwrap_or(name).to_owned(),
                entry: progress.entry,
                attempt: progress.attempt,
                retries: progress.retries.clone(),
                waiting: progress.waiting.map(str::to_owned),
                wake_at: progress.wake_at,
                callback: progress.callback,
                status: Status::Running,
                output: None,
                error: None,
            },
            false,
        )
    }

    fn write_end(
        &mut self,
        status: Status,
        output: Option<String>,
        error: Option<(&ErrorInfo, Option<&str>)>,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send + use<'_> {
        let state_name = error
            .and_then(|(_, state)| state)
            .map_or_else(|| self.last.name.to_string(), str::to_owned);
        let checkpoint = Checkpoint {
            state: self.last_json(),
            state_name,
            entry: 0,
            attempt: 0,
            retries: Vec::new(),
            waiting: None,
            wake_at: None,
            callback: None,
            status,
            output,
            error: error.map(|(e, _)| e.clone()),
        };
        self.write(checkpoint, true)
    }

    /// Hands the store the transition now; the future is the store's own.
    /// The transition is not carried in a future of ours, which the driver
    /// would move about (it is a few hundred bytes), and the store is
    /// borrowed rather than its `Arc` cloned.
    fn write(
        &mut self,
        checkpoint: Checkpoint,
        ends: bool,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send + use<'_> {
        let mut transition = Transition {
            execution: self.id.clone(),
            fence: self.fence,
            checkpoint,
            events: Vec::new(),
            stopped_at: ends.then(|| self.clock.now()),
        };
        let before = {
            let mut pending = lock(&self.pending);
            match pending.writing.take() {
                None => {
                    // The next transition records about as many events as
                    // this one: room for them now saves growing the list
                    // push by push.
                    let room = pending.events.len();
                    transition.events =
                        std::mem::replace(&mut pending.events, Vec::with_capacity(room));
                    None
                }
                Some(before) => Some(before),
            }
        };
        match before {
            None => {
                let written = self.store.commit(transition);
                Either::Left(async move { written.await.map_err(ExecutionError::Store) })
            }
            // A child's write is still in flight (a child dropped in the
            // middle of it): it goes first, and the events left after it
            // come with this one.
            Some(before) => {
                let (store, pending) = (&self.store, &self.pending);
                Either::Right(async move {
                    before.await.map_err(ExecutionError::Store)?;
                    transition.events = std::mem::take(&mut lock(pending).events);
                    store
                        .commit(transition)
                        .await
                        .map_err(ExecutionError::Store)
                })
            }
        }
    }
}

/// A failure the engine itself raises, in the state where it happened.
fn engine_failure(state: Option<&str>, error: &str, cause: String) -> ExecutionError {
    ExecutionError::Failed(Failure {
        state: state.unwrap_or_default().to_owned(),
        error: error.to_owned(),
        cause,
    })
}

/// The last committed state: its JSON and its name.
struct Last {
    /// `None` while it is the recorder's `serialized` value, which then
    /// holds the JSON: a commit need not keep a second copy.
    json: Option<String>,
    name: Cow<'static, str>,
}

/// A checkpoint as JSON, and where in it the state's data is.
struct Serialized {
    full: String,
    /// The state's data within `full`, when `full` has the usual shape of
    /// an externally tagged variant: `{"Variant":data}`.
    data: Option<std::ops::Range<usize>>,
}

impl Serialized {
    fn of<W: Workflow + Serialize>(checkpoint: &W) -> Result<Serialized, serde_json::Error> {
        let full = serde_json::to_string(checkpoint)?;
        let variant = checkpoint.state_name();
        let head = variant.len() + 4;
        let tagged = full.len() > head + 1
            && full.starts_with("{\"")
            && full[2..].starts_with(variant)
            && full[2 + variant.len()..].starts_with("\":")
            && full.ends_with('}');
        let data = tagged.then(|| head..full.len() - 1);
        Ok(Serialized { full, data })
    }

    /// The state's data as JSON.
    fn data<W: Serialize>(&self, checkpoint: &W) -> Result<String, serde_json::Error> {
        match &self.data {
            Some(range) => Ok(self.full[range.clone()].to_owned()),
            // Another shape (serde attributes on the enum): the slow way.
            None => checkpoint_json(checkpoint),
        }
    }
}

/// A state's data: the checkpoint's one field, without the variant's name.
fn checkpoint_json<W: Serialize>(checkpoint: &W) -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(checkpoint)?;
    let inner = match value {
        serde_json::Value::Object(mut map) if map.len() == 1 => {
            map.values_mut().next().map(serde_json::Value::take)
        }
        other => Some(other),
    };
    serde_json::to_string(&inner.unwrap_or(serde_json::Value::Null))
}

fn ends_execution(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::ExecutionSucceeded
            | EventKind::ExecutionFailed
            | EventKind::ExecutionTimedOut
            | EventKind::ExecutionAborted
    )
}

impl<W> Recorder<W> for DurableRecorder
where
    W: Workflow + Serialize,
    W::Output: Serialize,
{
    fn parks(&self, wake_at: SystemTime) -> bool {
        let left = wake_at.duration_since(self.clock.now()).unwrap_or_default();
        self.park_after.is_some_and(|limit| left > limit)
    }

    fn stops(&self) -> bool {
        self.stopping
            .as_ref()
            .is_some_and(|stopping| stopping.load(std::sync::atomic::Ordering::Relaxed))
    }

    fn journal(&self, resumed: Option<(u64, u32)>) -> Option<Arc<dyn Journal>> {
        Some(Arc::new(EngineJournal {
            pending: Arc::clone(&self.pending),
            clock: self.clock,
            store: Arc::clone(&self.store),
            id: self.id.clone(),
            fence: self.fence,
            resumed,
            finished: tokio::sync::Mutex::new(None),
        }))
    }

    fn record(
        &mut self,
        kind: EventKind,
        state: Option<&'static str>,
        data: Data<'_, W>,
    ) -> Result<(), ExecutionError> {
        let payload = match data {
            Data::None => None,
            Data::Unchanged(checkpoint) if self.serialized.is_some() => self
                .serialized
                .as_ref()
                .map(|serialized| serialized.data(checkpoint)),
            Data::Checkpoint(checkpoint) | Data::Unchanged(checkpoint) => {
                Some(Serialized::of(checkpoint).and_then(|serialized| {
                    let data = serialized.data(checkpoint);
                    self.keep(serialized);
                    data
                }))
            }
            Data::Output(output) => Some(serde_json::to_string(output)),
            Data::Error(error) => Some(serde_json::to_string(&serde_json::json!({
                "error": error.name,
                "cause": error.cause,
            }))),
        };
        let payload = match payload {
            None => None,
            Some(Ok(json)) => Some(json),
            Some(Err(e)) => {
                return Err(engine_failure(
                    state,
                    "States.Runtime",
                    format!("the state's data does not serialize: {e}"),
                ));
            }
        };
        if let Some(json) = &payload
            && json.len() > self.limits.payload_bytes
        {
            return Err(engine_failure(
                state,
                "States.DataLimitExceeded",
                format!(
                    "the data is {} bytes, over the limit of {} bytes",
                    json.len(),
                    self.limits.payload_bytes
                ),
            ));
        }
        let mut pending = lock(&self.pending);
        let recorded = usize::try_from(pending.last_id).unwrap_or(usize::MAX);
        if recorded >= self.limits.history_events && !ends_execution(kind) {
            return Err(engine_failure(
                state,
                "States.HistoryLimitExceeded",
                format!(
                    "the execution reached the limit of {} history events",
                    self.limits.history_events
                ),
            ));
        }
        // Events recorded between two of the driver's awaits happen at one
        // instant: one read of the clock stamps them all.
        let now = *self.instant.get_or_insert_with(|| self.clock.now());
        pending.push(kind, state, payload, now);
        Ok(())
    }

    fn resumed(&mut self) {
        self.instant = None;
    }

    fn commit(
        &mut self,
        checkpoint: &W,
        progress: &Progress,
        unchanged: bool,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send {
        // The write is an await: what is recorded after it reads the clock
        // again.
        self.instant = None;
        let state = match (&self.serialized, unchanged) {
            (Some(serialized), true) => Ok(serialized.full.clone()),
            _ => Serialized::of(checkpoint).map(|serialized| {
                let full = serialized.full.clone();
                self.keep(serialized);
                full
            }),
        };
        let name = checkpoint.state_name();
        let write = match state {
            Ok(state) => {
                // The JSON stays in `serialized`, the one copy kept.
                self.last = Last {
                    json: None,
                    name: Cow::Borrowed(name),
                };
                Ok(self.write_running(state, name, progress))
            }
            Err(e) => Err(engine_failure(
                Some(name),
                "States.Runtime",
                format!("the checkpoint does not serialize: {e}"),
            )),
        };
        async move { write?.await }
    }

    fn commit_again(
        &mut self,
        progress: &Progress,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send {
        self.instant = None;
        let name = self.last.name.clone();
        self.write_running(self.last_json(), &name, progress)
    }

    fn end(
        &mut self,
        outcome: Result<&W::Output, &ExecutionError>,
    ) -> impl Future<Output = Result<(), ExecutionError>> + Send {
        let write = match outcome {
            Ok(output) => match serde_json::to_string(output) {
                Ok(json) => Ok(self.write_end(Status::Succeeded, Some(json), None)),
                Err(e) => Err(engine_failure(
                    None,
                    "States.Runtime",
                    format!("the output does not serialize: {e}"),
                )),
            },
            Err(error) => {
                let status = match error {
                    ExecutionError::TimedOut { .. } => Status::TimedOut,
                    ExecutionError::Aborted => Status::Aborted,
                    _ => Status::Failed,
                };
                let state = error.failure().map(|f| f.state.as_str());
                Ok(self.write_end(status, None, Some((&error.info(), state))))
            }
        };
        async move { write?.await }
    }
}
