//! How an engine stops: gracefully ([`Engine::shutdown`]), letting its
//! executions go at their next checkpoint, or at once ([`Engine::halt`]),
//! as a crash would.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// The driver tasks running in this engine, counted as they start and end
/// (also when aborted), so a shutdown can wait for none to be left.
#[derive(Default)]
pub(super) struct Tasks {
    running: AtomicUsize,
    settled: tokio::sync::Notify,
}

/// Counts one driver task while it lives.
pub(super) struct Counted(Arc<Tasks>);

impl Tasks {
    pub(super) fn count(self: &Arc<Self>) -> Counted {
        self.running.fetch_add(1, Ordering::SeqCst);
        Counted(Arc::clone(self))
    }

    pub(super) fn running(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.running.fetch_sub(1, Ordering::SeqCst);
        self.0.settled.notify_waiters();
    }
}

/// What [`Engine::shutdown`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Shutdown {
    /// Executions whose running step did not reach a checkpoint within the
    /// grace period and was cut short: it runs again (with the same
    /// idempotency key) wherever the execution goes on.
    pub cut_short: usize,
}

impl<C: Send + Sync + 'static> Engine<C> {
    /// Stops this engine gracefully: it starts and claims nothing more, lets
    /// each execution it drives run to its next checkpoint (a step that is
    /// running finishes and its result is written) within `grace`, then
    /// lets them all go, so other workers (or this process after a
    /// restart) take them over at once instead of when a lease expires.
    /// Handles awaiting executions here resolve with
    /// [`ExecutionError::ShuttingDown`]; the executions go on in the store.
    ///
    /// Steps still running when `grace` is over are cut short (see
    /// [`Shutdown::cut_short`]). Keep `grace` shorter than the lease, which
    /// is no longer renewed.
    ///
    /// # Errors
    ///
    /// The store's error if the leases could not be given up; they then
    /// expire as after a crash.
    pub async fn shutdown(&self, grace: Duration) -> Result<Shutdown, EngineError> {
        let shared = &self.shared;
        shared.stopping.store(true, Ordering::SeqCst);
        if let Some(timers) = lock(&shared.timers).take() {
            timers.abort();
        }
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let settled = shared.tasks.settled.notified();
            let mut settled = std::pin::pin!(settled);
            settled.as_mut().enable();
            if shared.tasks.running() == 0 {
                break;
            }
            tokio::select! {
                () = settled => {}
                () = tokio::time::sleep_until(deadline) => break,
            }
        }
        let held = self.held();
        let cut_short = self.abort_tasks();
        self.stop_handles(ExecutionError::ShuttingDown);
        // What the steps cut short held is free from now on.
        let released = if held.is_empty() {
            Ok(Vec::new())
        } else {
            shared
                .store
                .renew_leases(held, SystemTime::UNIX_EPOCH)
                .await
        };
        // Whether or not the leases could be given up, this engine drives
        // nothing more.
        self.stopped_driving();
        released?;
        Ok(Shutdown { cut_short })
    }

    /// Stops driving every execution at once, writing nothing more: what a
    /// crash does. The store keeps their last checkpoints for
    /// [`recover`](Engine::recover), and their leases until they expire.
    /// Handles awaiting executions here resolve with
    /// [`ExecutionError::Halted`]. For a clean stop, see
    /// [`shutdown`](Engine::shutdown).
    pub fn halt(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(timers) = lock(&self.shared.timers).take() {
            timers.abort();
        }
        self.abort_tasks();
        self.stop_handles(ExecutionError::Halted);
        // As a crash would: a store locked for one engine is free again.
        self.stopped_driving();
    }

    /// Tells the store that this engine drives nothing more, if it drove
    /// anything (a client-only engine sharing the store with a worker must
    /// not free the worker's lock).
    fn stopped_driving(&self) {
        if !self.shared.leasing.client_only {
            self.shared.store.engine_stopped();
        }
    }

    /// Whether [`shutdown`](Engine::shutdown) or [`halt`](Engine::halt) was
    /// called.
    pub fn is_stopped(&self) -> bool {
        self.shared.stopping.load(Ordering::SeqCst)
    }

    /// Aborts every driver task; returns how many were running.
    fn abort_tasks(&self) -> usize {
        let mut aborted = 0;
        for live in lock(&self.shared.live).values_mut() {
            if let Some(task) = live.task.take() {
                aborted += usize::from(!task.is_finished());
                task.abort();
            }
        }
        aborted
    }

    /// Resolves every handle awaiting an execution here with `error`.
    fn stop_handles(&self, error: ExecutionError) {
        self.shared.stopped.send_replace(Some(error));
    }
}
