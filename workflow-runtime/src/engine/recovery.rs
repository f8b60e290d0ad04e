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

    /// The version and resume function of the registered workflow an
    /// execution belongs to: the one of its path. An execution stored
    /// before paths were has only its workflow's name: the one registered
    /// workflow of that name, or of those, the one of its version.
    fn registered_for(
        &self,
        execution: &StoredExecution,
    ) -> Result<(String, ResumeFn<C>), RecoveryError> {
        let registry = lock(&self.shared.registry);
        let problem = |ambiguous: bool, workflow: &str| {
            let (execution, workflow) = (execution.id.clone(), workflow.to_owned());
            if ambiguous {
                RecoveryError::Ambiguous {
                    execution,
                    workflow,
                }
            } else {
                RecoveryError::Unregistered {
                    execution,
                    workflow,
                }
            }
        };
        let found = match &execution.path {
            Some(path) => match registry.get(path) {
                Some(found) if found.name == execution.workflow => found,
                // A path names its workflow: another name under it is
                // not the workflow registered there.
                Some(_) => return Err(problem(false, &execution.workflow)),
                None => return Err(problem(false, path)),
            },
            None => {
                let named: Vec<&Registered<C>> = registry
                    .values()
                    .filter(|r| r.name == execution.workflow)
                    .collect();
                let chosen = if let [one] = named[..] {
                    Some(one)
                } else {
                    let mut of_version = named.iter().filter(|r| r.version == execution.version);
                    match (of_version.next(), of_version.next()) {
                        (Some(one), None) => Some(*one),
                        _ => None,
                    }
                };
                chosen.ok_or_else(|| problem(!named.is_empty(), &execution.workflow))?
            }
        };
        if found.type_id.is_none() {
            return Err(problem(
                true,
                execution.path.as_deref().unwrap_or(&execution.workflow),
            ));
        }
        Ok((found.version.clone(), found.resume))
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
