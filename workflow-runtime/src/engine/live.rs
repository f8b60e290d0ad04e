//! The executions this engine keeps in memory: those it drives and those
//! a handle awaits.

use super::*;

/// An execution this engine is driving, or that someone is waiting for.
pub(super) struct Live {
    pub(super) cancel: watch::Sender<bool>,
    pub(super) done: watch::Sender<Option<Result<(), ExecutionError>>>,
    pub(super) task: Option<AbortHandle>,
}

impl Live {
    pub(super) fn new() -> Self {
        Live {
            cancel: watch::channel(false).0,
            done: watch::channel(None).0,
            task: None,
        }
    }

    /// Whether the task calling this is the one driving the execution.
    pub(super) fn runs_this_task(&self) -> bool {
        self.task.as_ref().map(AbortHandle::id) == tokio::task::try_id()
    }
}

/// Forgets a parked execution unless a handle waits for it: then the entry
/// stays, so the run that resumes it publishes its outcome there. Called
/// from the parking task once its claim is released: by then the timer
/// loop may have resumed the execution in a new task, whose entry stays.
pub(super) fn park_live(live: &Mutex<HashMap<String, Live>>, id: &str) {
    let mut live = lock(live);
    if let Some(entry) = live.get_mut(id).filter(|entry| entry.runs_this_task()) {
        if entry.done.receiver_count() == 0 {
            live.remove(id);
        } else {
            entry.task = None;
        }
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
    /// How many executions have a task running in this process now: parked
    /// ones have none.
    pub fn active_tasks(&self) -> usize {
        lock(&self.shared.live)
            .values()
            .filter(|l| l.task.as_ref().is_some_and(|t| !t.is_finished()))
            .count()
    }

    /// How many executions this engine keeps anything for in memory: those
    /// it runs now and those a handle is awaiting. Parked and ended
    /// executions nobody awaits cost nothing here; the store keeps them.
    pub fn executions_in_memory(&self) -> usize {
        lock(&self.shared.live).len()
    }

    /// Waits until the execution with this id ends; `Ok` means it succeeded
    /// (its output is in the store).
    pub(crate) async fn finished(&self, id: &str) -> Result<(), ExecutionError> {
        let (done, running_here) = {
            let mut live = lock(&self.shared.live);
            let entry = live.entry(id.to_owned()).or_insert_with(Live::new);
            let running = entry.task.as_ref().is_some_and(|t| !t.is_finished());
            (entry.done.subscribe(), running)
        };
        let mut waiting = Waiting {
            live: &self.shared.live,
            id,
            done,
        };
        // A task driving it here publishes its end on this channel before it
        // lets the entry go, so there is nothing to read yet: the store
        // matters only for an execution that ended, or runs, elsewhere.
        if !running_here {
            let stored = self
                .shared
                .store
                .execution(id)
                .await
                .map_err(ExecutionError::Store)?
                .ok_or_else(|| ExecutionError::Store(StoreError::NotFound(id.to_owned())))?;
            if stored.checkpoint.status != Status::Running {
                return ended(&stored);
            }
        }
        let published = waiting
            .done
            .wait_for(Option::is_some)
            .await
            .map_err(|_| ExecutionError::Store(StoreError::Closed))?
            .clone();
        published.unwrap_or(Err(ExecutionError::Store(StoreError::Closed)))
    }
}
