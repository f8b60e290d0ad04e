//! Ending executions nobody is driving here: cancels, failures found at
//! recovery, and how a stored end reads as an outcome.

use super::*;

/// How many times a cancel reads and tries to end an execution that other
/// writers keep moving on.
const CANCEL_ROUNDS: u32 = 16;

impl<C: Send + Sync + 'static> Engine<C> {
    /// Ends an execution nobody is driving, in the store: its status, its
    /// error, and the one event that closes its history.
    pub(super) async fn end_stored(
        &self,
        stored: &StoredExecution,
        status: Status,
        error: crate::ErrorInfo,
        kind: EventKind,
        data: Option<String>,
    ) -> Result<(), EngineError> {
        let clock = self.shared.clock;
        let mut checkpoint = stored.checkpoint.clone();
        checkpoint.status = status;
        checkpoint.wake_at = None;
        checkpoint.error = Some(error);
        let previous = stored.last_event_id;
        let event = Event {
            id: previous + 1,
            previous_event_id: previous,
            timestamp: clock.now(),
            kind,
            state: None,
            data,
        };
        self.shared
            .store
            .commit(Transition {
                execution: stored.id.clone(),
                fence: stored.fence,
                checkpoint,
                events: vec![event],
                stopped_at: Some(clock.now()),
            })
            .await?;
        Ok(())
    }

    pub(crate) async fn cancel(&self, id: &str) -> Result<(), EngineError> {
        // A write between reading the execution and ending it (a claim by
        // the timer loop here or by a worker elsewhere, or the next step of
        // the worker running it in another process) refuses the end: read
        // it again, and signal the run if it now runs here. Each refusal
        // means another writer moved it on; the rounds are bounded so that
        // a cancel cannot chase a busy worker forever, and past them the
        // caller gets the last refusal.
        let mut round = 0;
        loop {
            round += 1;
            let running_here = {
                let live = lock(&self.shared.live);
                live.get(id).is_some_and(|l| {
                    if l.task.as_ref().is_some_and(|t| !t.is_finished()) {
                        l.cancel.send_replace(true);
                        true
                    } else {
                        false
                    }
                })
            };
            if running_here {
                return Ok(());
            }
            let Some(stored) = self.shared.store.execution(id).await? else {
                return Err(EngineError::Store(StoreError::NotFound(id.to_owned())));
            };
            if stored.checkpoint.status != Status::Running {
                return Ok(());
            }
            // Parked here, or run by another process: end it in the store
            // directly.
            match self.abort_stored(&stored).await {
                Err(EngineError::Store(
                    StoreError::Fenced { .. } | StoreError::HistoryMoved { .. },
                )) if round < CANCEL_ROUNDS => continue,
                // It ended on its own in between: nothing left to cancel.
                Err(EngineError::Store(StoreError::Ended(_))) => return Ok(()),
                other => return other,
            }
        }
    }

    /// Ends a parked execution as aborted, in the store.
    pub(super) async fn abort_stored(&self, stored: &StoredExecution) -> Result<(), EngineError> {
        let error = ExecutionError::Aborted.info();
        self.end_stored(
            stored,
            Status::Aborted,
            error,
            EventKind::ExecutionAborted,
            None,
        )
        .await?;
        let done = lock(&self.shared.live)
            .get(&stored.id)
            .map(|l| l.done.clone());
        if let Some(done) = done {
            done.send_replace(Some(Err(ExecutionError::Aborted)));
        }
        Ok(())
    }
}

/// How a stored execution ended, as an outcome: the same one a handle
/// awaiting the run gets. `timeout` is the workflow's (a timed-out
/// execution reports it); without it, the time the execution ran.
pub(super) fn ended(
    stored: &StoredExecution,
    timeout: Option<Duration>,
) -> Result<(), ExecutionError> {
    let checkpoint = &stored.checkpoint;
    let error = checkpoint.error.clone().unwrap_or_else(|| {
        crate::ErrorInfo::new("States.Runtime", "the execution ended without an error")
    });
    match checkpoint.status {
        Status::Running | Status::Succeeded => Ok(()),
        Status::Aborted => Err(ExecutionError::Aborted),
        Status::TimedOut => Err(ExecutionError::TimedOut {
            after: timeout.unwrap_or_else(|| {
                stored
                    .stopped_at
                    .and_then(|stopped| stopped.duration_since(stored.started_at).ok())
                    .unwrap_or_default()
            }),
        }),
        Status::Failed => Err(ExecutionError::Failed(crate::Failure {
            state: checkpoint.state_name.clone(),
            error: error.name,
            cause: error.cause,
        })),
    }
}
