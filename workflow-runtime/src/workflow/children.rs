//! Child executions (Parallel branches, Map iterations) in their parent's
//! history: the events each records, and the checkpoint a finished one
//! leaves, so that a resumed state runs only the children that had not
//! finished and reuses the others' outputs.
//!
//! A child's events are recorded together when it ends, its start stamped
//! with the time it started: a child that had not finished when its
//! execution stopped left nothing, so running it again records its start
//! once. A child that succeeds is written at once, with its output (when
//! the output type is serde's); one that fails or is aborted is recorded
//! with the parent's next write, and is not kept: it runs again if the
//! state resumes. Only the top level is kept: the children of a child are
//! part of it, and run again with it.

use std::time::SystemTime;

use super::Drive;
use super::typing::Codec;
use crate::error::{ErrorInfo, ExecutionError};
use crate::history::EventKind;
use crate::journal::{ChildEvent, ChildKey, Journal};
use crate::runner::Runner;

/// Which events a state's children record.
#[derive(Clone, Copy)]
pub(crate) struct ChildEvents {
    started: EventKind,
    succeeded: EventKind,
    failed: EventKind,
    aborted: EventKind,
}

impl ChildEvents {
    pub(crate) const BRANCH: ChildEvents = ChildEvents {
        started: EventKind::ParallelBranchStarted,
        succeeded: EventKind::ParallelBranchSucceeded,
        failed: EventKind::ParallelBranchFailed,
        aborted: EventKind::ParallelBranchAborted,
    };
    pub(crate) const ITEM: ChildEvents = ChildEvents {
        started: EventKind::MapIterationStarted,
        succeeded: EventKind::MapIterationSucceeded,
        failed: EventKind::MapIterationFailed,
        aborted: EventKind::MapIterationAborted,
    };
}

/// Which child of which state, and how its output is kept: a codec only
/// where the output type is serde's (see [`Branch::codec`](super::typing::Branch::codec)).
pub(crate) struct Which<T> {
    pub(crate) events: ChildEvents,
    pub(crate) state: &'static str,
    pub(crate) key: ChildKey,
    pub(crate) codec: Option<Codec<T>>,
}

/// Runs a child (workflow `W` on `input`), or reuses its output if it
/// finished in an earlier run.
pub(crate) async fn run<W: Drive>(
    runner: Runner,
    context: &W::Context,
    input: W::Input,
    journal: Option<&dyn Journal>,
    which: Which<W::Output>,
) -> Result<W::Output, ExecutionError> {
    let Which {
        events,
        state,
        key,
        codec,
    } = which;
    let codec = journal.and(codec);
    if let (Some(journal), Some(codec)) = (journal, &codec)
        && let Some(json) = journal.finished(key).await?
        // An output that no longer reads (the type changed) runs again.
        && let Ok(output) = (codec.decode)(&json)
    {
        return Ok(output);
    }
    let record = Record::start(journal, events, state, key);
    let result = W::drive(runner, context, input).await;
    match &result {
        Ok(output) => {
            let json = codec.and_then(|codec| (codec.encode)(output).ok());
            record.succeeded(json).await?;
        }
        Err(error) => record.failed(&error.info()),
    }
    result
}

/// One child's events: its start, and its end when told, or `aborted` if
/// it is dropped first (a sibling failed, or the execution was cancelled).
struct Record<'a> {
    journal: Option<&'a dyn Journal>,
    events: ChildEvents,
    state: &'static str,
    key: ChildKey,
    started_at: SystemTime,
    ended: bool,
}

impl<'a> Record<'a> {
    fn start(
        journal: Option<&'a dyn Journal>,
        events: ChildEvents,
        state: &'static str,
        key: ChildKey,
    ) -> Self {
        Record {
            journal,
            events,
            state,
            key,
            started_at: journal.map_or(SystemTime::UNIX_EPOCH, |j| j.now()),
            ended: false,
        }
    }

    /// The start and an end of kind `kind` with `data`.
    fn pair(&self, journal: &dyn Journal, kind: EventKind, data: String) -> [ChildEvent; 2] {
        [
            ChildEvent {
                kind: self.events.started,
                state: self.state,
                data: Some(self.index_data()),
                at: self.started_at,
            },
            ChildEvent {
                kind,
                state: self.state,
                data: Some(data),
                at: journal.now(),
            },
        ]
    }

    fn index_data(&self) -> String {
        format!(r#"{{"index":{}}}"#, self.key.index)
    }

    /// Records the success, and writes it with `output` if there is one.
    async fn succeeded(mut self, output: Option<String>) -> Result<(), ExecutionError> {
        self.ended = true;
        let Some(journal) = self.journal else {
            return Ok(());
        };
        let events = self.pair(journal, self.events.succeeded, self.index_data());
        match output {
            Some(output) => journal.checkpoint(self.key, events, output).await,
            None => {
                journal.record(events);
                Ok(())
            }
        }
    }

    fn failed(mut self, error: &ErrorInfo) {
        self.ended = true;
        if let Some(journal) = self.journal {
            let data = serde_json::json!({
                "index": self.key.index,
                "error": error.name,
                "cause": error.cause,
            });
            journal.record(self.pair(journal, self.events.failed, data.to_string()));
        }
    }
}

impl Drop for Record<'_> {
    fn drop(&mut self) {
        if !self.ended
            && let Some(journal) = self.journal
        {
            journal.record(self.pair(journal, self.events.aborted, self.index_data()));
        }
    }
}
