//! The engine's recorder: serializes each event's data, enforces the
//! payload and history limits, and appends to the execution's record.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::record::Record;
use super::{Limits, lock};
use crate::clock::Clock;
use crate::driver::{Data, Recorder};
use crate::error::{ExecutionError, Failure};
use crate::history::{Event, EventKind, Journal};
use crate::workflow::Workflow;

pub(crate) struct EngineRecorder {
    record: Arc<Mutex<Record>>,
    limits: Limits,
    clock: Clock,
}

impl EngineRecorder {
    pub(crate) fn new(record: Arc<Mutex<Record>>, limits: Limits, clock: Clock) -> Self {
        EngineRecorder {
            record,
            limits,
            clock,
        }
    }

    /// Appends an event, whatever the limits: for the events that end an
    /// execution, which must be recorded for the history to be whole.
    pub(crate) fn push(&self, kind: EventKind, state: Option<&'static str>, data: Option<String>) {
        let mut record = lock(&self.record);
        append(&mut record, kind, state, data, self.clock.now());
    }
}

fn append(
    record: &mut Record,
    kind: EventKind,
    state: Option<&'static str>,
    data: Option<String>,
    now: std::time::SystemTime,
) {
    let previous = record.history.last().map_or(0, |e| e.id);
    if let Some(state) = state {
        record.state = Some(state);
    }
    record.history.push(Event {
        id: previous + 1,
        previous_event_id: previous,
        timestamp: now,
        kind,
        state: state.map(str::to_owned),
        data,
    });
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

/// A failure the engine itself raises, in the state where it happened.
fn engine_failure(state: Option<&str>, error: &str, cause: String) -> ExecutionError {
    ExecutionError::Failed(Failure {
        state: state.unwrap_or_default().to_owned(),
        error: error.to_owned(),
        cause,
    })
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

/// The journal children report to: the parent's record.
struct RecordJournal {
    record: Arc<Mutex<Record>>,
    clock: Clock,
}

impl Journal for RecordJournal {
    fn push(&self, kind: EventKind, state: &'static str, data: Option<String>) {
        let mut record = lock(&self.record);
        append(&mut record, kind, Some(state), data, self.clock.now());
    }
}

impl<W> Recorder<W> for EngineRecorder
where
    W: Workflow + Serialize,
    W::Output: Serialize,
{
    fn journal(&self) -> Option<Arc<dyn Journal>> {
        Some(Arc::new(RecordJournal {
            record: Arc::clone(&self.record),
            clock: self.clock,
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
            Data::Checkpoint(checkpoint) => Some(checkpoint_json(checkpoint)),
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
        let mut record = lock(&self.record);
        if record.history.len() >= self.limits.history_events && !ends_execution(kind) {
            return Err(engine_failure(
                state,
                "States.HistoryLimitExceeded",
                format!(
                    "the execution reached the limit of {} history events",
                    self.limits.history_events
                ),
            ));
        }
        append(&mut record, kind, state, payload, self.clock.now());
        Ok(())
    }
}
