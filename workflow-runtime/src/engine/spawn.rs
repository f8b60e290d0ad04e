//! Spawning a run: the driver task of one execution, from a checkpoint on,
//! and what it does with the store when the run stops.

use super::*;

impl<C: Send + Sync + 'static> Engine<C> {
    /// Drives an execution from `checkpoint` on, in a task of its own.
    pub(super) fn spawn<W>(&self, run: Run<'_>, checkpoint: W, progress: Progress)
    where
        W: Workflow<Context = C> + Serialize + DeserializeOwned,
        W::Output: Serialize + DeserializeOwned,
    {
        let Run {
            id,
            name,
            state,
            fence,
            last_event_id,
            elapsed,
            secret,
        } = run;
        // Held until the task's handle is in the entry: an entry without
        // a running task may be forgotten (see `forget_idle`), and this
        // task's cancel signal lives in it.
        let mut live = lock(&self.shared.live);
        let entry = live.entry(id.clone()).or_insert_with(Live::new);
        // A task of this engine still running it holds a fence this claim
        // made stale (its lease expired while it ran, and this engine took
        // the execution back): whatever it would write is refused, so it
        // stops now.
        if let Some(stale) = entry.task.take() {
            stale.abort();
        }
        // Cleared only if a cancel is left from an earlier run: sending
        // wakes every waiter of the channel, on every start.
        entry.cancel.send_if_modified(std::mem::take);
        let (cancelled, done) = (entry.cancel.subscribe(), entry.done.clone());
        let shared = Arc::clone(&self.shared);
        let hub: Arc<dyn Callbacks> = shared.callbacks.clone();
        let mut runner = Runner::new()
            .execution_id(id.clone())
            .elapsed(elapsed)
            .clock(shared.clock)
            .with_callbacks(CallbackLink {
                callbacks: hub,
                secret: Arc::new(secret),
            });
        if let Some(seed) = shared.seed {
            // From the name, which the caller chose: the same seed and name
            // give the same jitter, run after run.
            runner = runner.seed(crate::runner::derive_seed(seed, name));
        }
        let state_name = checkpoint.state_name().to_owned();
        let key = id.clone();
        let key_in_task = id.clone();
        let task = async move {
            let mut recorder = DurableRecorder::new(
                Arc::clone(&shared.store),
                id,
                fence,
                last_event_id,
                shared.limits,
                shared.clock,
                (state, state_name),
            )
            .parking_after(shared.park_after)
            .stopping(Arc::clone(&shared.stopping));
            let ran = {
                let run =
                    runner.run_from::<W, _>(&shared.context, checkpoint, progress, &mut recorder);
                // Code outside a task's handler (a choice or pass function,
                // say) may panic too; the execution then fails instead of
                // staying "running" forever.
                let run = std::panic::AssertUnwindSafe(run).catch_unwind();
                let mut cancelled = cancelled;
                let cancel = async move {
                    // A sender dropped with its entry is no cancel.
                    if cancelled.wait_for(|c| *c).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                };
                tokio::select! {
                    ran = run => ran.unwrap_or_else(|panic| {
                        Ran::Ended(Err(ExecutionError::Crashed {
                            message: crate::attempt::panic_message(panic.as_ref()),
                        }))
                    }),
                    () = cancel => Ran::Ended(Err(ExecutionError::Aborted)),
                }
            };
            let outcome = match ran {
                Ran::Parked => {
                    // The deadline is committed; give the claim up so the
                    // timer loop can take the execution when it is due.
                    if let Err(error) = shared.store.release(&key_in_task, fence).await {
                        tracing::warn!(execution = %key_in_task, %error, "could not park");
                    }
                    let_go(&shared.live, &key_in_task);
                    shared.wake.notify_one();
                    return;
                }
                Ran::Ended(Err(ExecutionError::Aborted)) => match recorder.abort().await {
                    Ok(()) => Err(ExecutionError::Aborted),
                    Err(error) => Err(error),
                },
                Ran::Ended(Err(crashed @ ExecutionError::Crashed { .. })) => {
                    match recorder.crash::<W>(&crashed).await {
                        Ok(()) => Err(crashed),
                        Err(error) => Err(error),
                    }
                }
                Ran::Ended(other) => other.map(|_| ()),
            };
            let gone_elsewhere = |error: &StoreError| match error {
                StoreError::Fenced { .. }
                | StoreError::Ended(_)
                | StoreError::HistoryMoved { .. } => true,
                // On a shared store the execution stays at its last
                // checkpoint, and another worker (or this one) goes on
                // when its lease expires.
                StoreError::Unavailable(_) => shared.leasing.lease.is_some(),
                _ => false,
            };
            if let Err(ExecutionError::Store(error)) = &outcome
                && gone_elsewhere(error)
            {
                // Another worker took it over (this one stalled past its
                // lease), a cancel ended it in the store (or wrote under its
                // fence from another process), or the database
                // is out of reach: not this task's to report. Waiting
                // handles go on through the store.
                tracing::info!(execution = %key_in_task, %error, "let go of an execution");
                let_go(&shared.live, &key_in_task);
                shared.wake.notify_one();
                return;
            }
            // A full disk or a locked file stopped the run at its last
            // checkpoint: waiting handles hear why, and the claim is given
            // up, so the timer loop takes the execution up again from there
            // at a later look for due work, once the store has room.
            let resumable = matches!(
                &outcome,
                Err(ExecutionError::Store(
                    StoreError::Full(_) | StoreError::Locked(_)
                ))
            );
            // Handles already waiting hold receivers that keep the outcome;
            // later ones read it from the store. The execution has ended
            // there (or is let go), so no other task can have taken this
            // entry over.
            done.send_replace(Some(outcome));
            if resumable {
                if let Err(error) = shared.store.release(&key_in_task, fence).await {
                    tracing::warn!(execution = %key_in_task, %error, "could not let go after a store failure");
                }
                tracing::warn!(execution = %key_in_task, "stopped at its last checkpoint by a store failure; it resumes later");
            }
            {
                let mut live = lock(&shared.live);
                if live.get(&key_in_task).is_some_and(Live::runs_this_task) {
                    live.remove(&key_in_task);
                }
            }
            // Room for one more, if the engine keeps to a limit.
            if shared.leasing.max_active != usize::MAX {
                shared.wake.notify_one();
            }
        };
        let counted = self.shared.tasks.count();
        let task = async move {
            let _counted = counted;
            task.await;
        };
        let entry = live.entry(key).or_insert_with(Live::new);
        entry.task = Some(tokio::spawn(task).abort_handle());
        entry.fence = fence;
        drop(live);
        self.ensure_timers();
    }
}

/// Which execution a driver task runs, and where its history stands.
pub(super) struct Run<'a> {
    pub(super) id: String,
    pub(super) name: &'a str,
    /// The checkpoint as stored (JSON), so it is not serialized again.
    pub(super) state: String,
    pub(super) fence: u64,
    pub(super) last_event_id: u64,
    pub(super) elapsed: Duration,
    /// The secret its callback tokens are made with.
    pub(super) secret: Secret,
}
