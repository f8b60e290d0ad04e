//! The executions this engine keeps in memory: those it drives and those
//! a handle awaits.

use super::*;

/// An execution this engine is driving, or that someone is waiting for.
pub(super) struct Live {
    pub(super) cancel: watch::Sender<bool>,
    pub(super) done: watch::Sender<Option<Result<(), ExecutionError>>>,
    pub(super) task: Option<AbortHandle>,
    /// The fence the running task writes with.
    pub(super) fence: u64,
}

impl Live {
    pub(super) fn new() -> Self {
        Live {
            cancel: watch::channel(false).0,
            done: watch::channel(None).0,
            task: None,
            fence: 0,
        }
    }

    /// Whether the task calling this is the one driving the execution.
    pub(super) fn runs_this_task(&self) -> bool {
        self.task.as_ref().map(AbortHandle::id) == tokio::task::try_id()
    }
}

/// The task driving an execution lets it go: it parked, or another worker
/// took it over. The entry is forgotten unless a handle waits for it; then
/// it stays, told of the change, so the handle looks in the store, and a
/// run that resumes the execution here publishes its outcome there. By the
/// time this runs the timer loop may have resumed the execution in a new
/// task, whose entry stays as it is.
pub(super) fn let_go(live: &Mutex<HashMap<String, Live>>, id: &str) {
    let mut live = lock(live);
    if live.get(id).is_some_and(Live::runs_this_task) {
        release_entry(&mut live, id);
    }
}

/// Drops the task of an execution's entry: the entry goes unless a handle
/// waits on it; then it stays, and the waiters wake up to look in the
/// store (no outcome is published).
fn release_entry(live: &mut HashMap<String, Live>, id: &str) {
    let Some(entry) = live.get_mut(id) else {
        return;
    };
    entry.task = None;
    if entry.done.receiver_count() == 0 {
        live.remove(id);
    } else {
        entry.done.send_modify(|_| {});
    }
}

/// A handle waiting for an execution's outcome. When it stops waiting (it
/// got the outcome, or its future was dropped) and nothing else needs the
/// execution's entry, the entry goes: the engine keeps nothing per
/// execution that is neither running here nor awaited.
pub(super) struct Waiting<'a> {
    live: &'a Mutex<HashMap<String, Live>>,
    id: &'a str,
    done: watch::Receiver<Option<Result<(), ExecutionError>>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let mut live = lock(self.live);
        let idle = live.get(self.id).is_some_and(|entry| {
            // This waiter's own receiver is dropped after this runs; it
            // counts only if the entry is still the one it subscribed to.
            let mine = usize::from(entry.done.subscribe().same_channel(&self.done));
            entry.done.receiver_count() <= mine
                && entry.task.as_ref().is_none_or(AbortHandle::is_finished)
        });
        if idle {
            live.remove(self.id);
        }
    }
}

impl<C: Send + Sync + 'static> Engine<C> {
    /// The executions a task of this engine drives now, with the fence it
    /// writes with: the leases to renew.
    pub(super) fn held(&self) -> Vec<(String, u64)> {
        lock(&self.shared.live)
            .iter()
            .filter(|(_, entry)| entry.task.as_ref().is_some_and(|t| !t.is_finished()))
            .map(|(id, entry)| (id.clone(), entry.fence))
            .collect()
    }

    /// Stops the task driving `id` with `fence`: its lease was lost, so
    /// whatever it would write is refused. Waiting handles go on through
    /// the store.
    pub(super) fn lost(&self, id: &str, fence: u64) {
        let mut live = lock(&self.shared.live);
        if let Some(entry) = live.get(id).filter(|entry| entry.fence == fence) {
            if let Some(task) = &entry.task {
                task.abort();
            }
            release_entry(&mut live, id);
        }
    }

    /// How many executions have a task running in this process now: parked
    /// ones have none.
    pub fn active_tasks(&self) -> usize {
        self.shared.tasks.running()
    }

    /// How many executions this engine keeps anything for in memory: those
    /// it runs now and those a handle is awaiting. Parked and ended
    /// executions nobody awaits cost nothing here; the store keeps them.
    pub fn executions_in_memory(&self) -> usize {
        lock(&self.shared.live).len()
    }

    /// Waits until the execution with this id ends; `Ok` means it succeeded
    /// (its output is in the store). `timeout` is its workflow's.
    pub(crate) async fn finished(
        &self,
        id: &str,
        timeout: Option<Duration>,
    ) -> Result<(), ExecutionError> {
        let done = lock(&self.shared.live)
            .entry(id.to_owned())
            .or_insert_with(Live::new)
            .done
            .subscribe();
        let mut waiting = Waiting {
            live: &self.shared.live,
            id,
            done,
        };
        let mut stopped = self.shared.stopped.subscribe();
        loop {
            if let Some(outcome) = waiting.done.borrow_and_update().clone() {
                return outcome;
            }
            // A task driving it here publishes its end on this channel before
            // it lets the entry go, so there is nothing to read yet: the store
            // matters only for an execution that ended, or runs, elsewhere.
            let here = self.runs_here(id);
            if !here {
                let stored = self
                    .shared
                    .store
                    .execution(id)
                    .await
                    .map_err(ExecutionError::Store)?
                    .ok_or_else(|| ExecutionError::Store(StoreError::NotFound(id.to_owned())))?;
                if stored.checkpoint.status != Status::Running {
                    return ended(&stored, timeout);
                }
            }
            let clock = self.shared.clock;
            tokio::select! {
                changed = waiting.done.changed() => {
                    changed.map_err(|_| ExecutionError::Store(StoreError::Closed))?;
                }
                // The engine stopped: its handles say so rather than wait
                // on (a handle of another engine can).
                why = stopped.wait_for(Option::is_some) => {
                    let why = why.map(|why| why.clone()).ok().flatten();
                    return Err(why.unwrap_or(ExecutionError::ShuttingDown));
                }
                // Parked, or driven by another process: look again later.
                () = clock.sleep(self.shared.leasing.poll), if !here => {}
            }
        }
    }

    /// Whether a task of this engine drives the execution now.
    fn runs_here(&self, id: &str) -> bool {
        lock(&self.shared.live)
            .get(id)
            .is_some_and(|entry| entry.task.as_ref().is_some_and(|t| !t.is_finished()))
    }
}
