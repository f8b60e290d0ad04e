//! Resuming stored executions: after a restart, and whenever the timer
//! loop claims one.

use super::*;

impl<C: Send + Sync + 'static> Engine<C> {
    /// Resumes every open execution in the store from its last checkpoint:
    /// after a restart, call it once the workflows are registered. A task
    /// that was running when the process died runs again, with the same
    /// idempotency key; a wait or a backoff sleeps only what is left of it.
    ///
    /// On a store other processes share, it takes over only executions
    /// nobody holds and those whose lease expired; on an embedded store,
    /// everything (the process that held them is gone).
    ///
    /// # Errors
    ///
    /// [`EngineError::ClientOnly`] on an engine that drives nothing, and
    /// the store's error if the claim fails. An execution that cannot be
    /// resumed is not an error: it is listed in [`Recovery::skipped`], one
    /// whose row in the store is corrupt too (as
    /// [`RecoveryError::Unreadable`]; [`describe`](Engine::describe) of it
    /// gives [`StoreError::Corrupt`]), and the others are resumed.
    pub async fn recover(&self) -> Result<Recovery, EngineError> {
        let leasing = self.shared.leasing;
        if leasing.client_only {
            return Err(EngineError::ClientOnly);
        }
        if self.is_stopped() {
            return Err(EngineError::Stopped);
        }
        let now = self.shared.clock.now();
        let claimed = self
            .shared
            .store
            .claim(Claim {
                owner: self.shared.owner.clone(),
                lease_until: leasing.until(now),
                due_by: forever(),
                leases_expired_by: leasing.recoverable_by(now),
                limit: usize::MAX,
            })
            .await?;
        let mut recovery = Recovery::default();
        recovery
            .skipped
            .extend(claimed.corrupt.into_iter().map(unreadable));
        for execution in claimed.executions {
            let id = execution.id.clone();
            if lock(&self.shared.live)
                .get(&id)
                .is_some_and(|l| l.task.as_ref().is_some_and(|t| !t.is_finished()))
            {
                continue;
            }
            match self.resume_claimed(execution).await? {
                None => recovery.resumed.push(id),
                Some(problem) => recovery.skipped.push(problem),
            }
        }
        self.ensure_timers();
        Ok(recovery)
    }

    /// Ends an execution that cannot be resumed, as failed, in the store.
    pub(super) async fn fail_unresumable(
        &self,
        execution: &StoredExecution,
        error: &str,
        problem: &RecoveryError,
    ) -> Result<(), EngineError> {
        let cause = problem.to_string();
        let data = serde_json::json!({ "error": error, "cause": cause }).to_string();
        let error = crate::ErrorInfo::new(error, cause);
        self.end_stored(
            execution,
            Status::Failed,
            error,
            EventKind::ExecutionFailed,
            Some(data),
        )
        .await
    }

    /// Resumes one claimed execution, or says why not. An execution that
    /// cannot be resumed stays claimed, so the timer loop does not take it
    /// again and again; the next `recover` reports it again.
    pub(super) async fn resume_claimed(
        &self,
        execution: StoredExecution,
    ) -> Result<Option<RecoveryError>, EngineError> {
        let (version, resume) = match self.registered_for(&execution) {
            Ok(found) => found,
            Err(problem) => return Ok(Some(problem)),
        };
        if version != execution.version {
            let problem = RecoveryError::VersionMismatch {
                execution: execution.id.clone(),
                workflow: execution.workflow.clone(),
                stored: execution.version.clone(),
                current: version,
            };
            if self.shared.versions == VersionPolicy::Fail {
                self.fail_unresumable(&execution, "States.VersionMismatch", &problem)
                    .await?;
            }
            return Ok(Some(problem));
        }
        Ok(resume(self, execution).err())
    }
}

/// A row the claim could not read back, as recovery reports it.
fn unreadable(error: StoreError) -> RecoveryError {
    match error {
        StoreError::Corrupt {
            execution,
            what,
            detail,
        } => RecoveryError::Unreadable {
            execution,
            detail: format!("its {what} is corrupt: {detail}"),
        },
        // A store reports only corrupt rows there; any other error names
        // no execution, and is told as it is.
        other => RecoveryError::Unreadable {
            execution: String::new(),
            detail: other.to_string(),
        },
    }
}

/// Resumes one stored execution of `W`.
pub(super) fn resume<C, W>(engine: &Engine<C>, stored: StoredExecution) -> Result<(), RecoveryError>
where
    C: Send + Sync + 'static,
    W: Workflow<Context = C> + Serialize + DeserializeOwned,
    W::Output: Serialize + DeserializeOwned,
{
    let unreadable = |detail: String| RecoveryError::Unreadable {
        execution: stored.id.clone(),
        detail,
    };
    let checkpoint: W = serde_json::from_str(&stored.checkpoint.state)
        .map_err(|e| unreadable(format!("its state does not deserialize: {e}")))?;
    let def = W::definition();
    let waiting = match &stored.checkpoint.waiting {
        None => None,
        Some(name) => Some(
            def.states
                .iter()
                .find(|s| s.name == *name)
                .map(|s| -> &'static str { &s.name })
                .ok_or_else(|| unreadable(format!("it waits in an unknown state `{name}`")))?,
        ),
    };
    let secret = crate::token::Secret::from_hex(&stored.callback_secret)
        .ok_or_else(|| unreadable("its callback secret is not 64 hex digits".to_owned()))?;
    let started = stored.last_event_id > 0;
    let progress = Progress {
        entry: stored.checkpoint.entry,
        attempt: stored.checkpoint.attempt,
        retries: stored.checkpoint.retries.clone(),
        waiting,
        wake_at: stored.checkpoint.wake_at,
        callback: stored.checkpoint.callback,
        // Every commit but a wait's is made after the state's entry is
        // recorded; a wait's names the state it waits in instead.
        entered: started && waiting.is_none(),
        started,
    };
    let elapsed = engine
        .shared
        .clock
        .now()
        .duration_since(stored.started_at)
        .unwrap_or_default();
    let run = Run {
        id: stored.id,
        name: &stored.name,
        state: stored.checkpoint.state,
        fence: stored.fence,
        last_event_id: stored.last_event_id,
        elapsed,
        secret,
    };
    engine.spawn::<W>(run, checkpoint, progress);
    Ok(())
}
