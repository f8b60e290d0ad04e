//! Callback tasks: answers from outside, checked against the token's
//! execution, stored first, and handed to the task waiting here.

use super::*;
use crate::callback::{Check, Waiting};
use crate::store::{AwaitedCallback, ParkedCallback};
use crate::token::{Opened as Parts, Place, Secret};

/// A callback task waiting in this process.
pub(super) struct Waiter {
    updates: watch::Sender<CallbackState>,
    /// Whether an answer is what the task expects.
    check: Check,
}

/// Callback tasks waiting in this process, by key.
pub(super) struct CallbackHub {
    pub(super) store: Arc<dyn Store>,
    pub(super) waiters: Mutex<HashMap<String, Waiter>>,
    /// The checks of tasks parked on their callbacks by this process, so
    /// that an answer made here is checked as if they waited in memory.
    pub(super) parked: Mutex<HashMap<String, Check>>,
    /// On a store other processes share, an answer may be stored by
    /// another process: waiting tasks look in the store this often.
    pub(super) recheck: Option<Duration>,
    /// When a task starts waiting, on the engine's clock.
    pub(super) clock: Clock,
}

impl CallbackHub {
    /// Tells a waiting task, if one waits here.
    pub(super) fn notify(&self, key: &str, change: impl FnOnce(&mut CallbackState)) {
        if let Some(waiter) = lock(&self.waiters).get(key) {
            waiter.updates.send_modify(change);
        }
    }

    /// Whether an answer's JSON is what the task waiting here expects
    /// (`Ok` if none waits here).
    fn check(&self, key: &str, json: &str) -> Result<(), String> {
        let waiting = lock(&self.waiters).get(key).map(|waiter| waiter.check);
        let check = waiting.or_else(|| lock(&self.parked).get(key).copied());
        check.map_or(Ok(()), |check| check(json))
    }
}

impl Callbacks for CallbackHub {
    fn subscribe(&self, key: &str, check: Check) -> watch::Receiver<CallbackState> {
        self.forget(key);
        let mut waiters = lock(&self.waiters);
        let waiter = waiters.entry(key.to_owned()).or_insert_with(|| Waiter {
            updates: watch::channel(CallbackState::default()).0,
            check,
        });
        waiter.check = check;
        waiter.updates.subscribe()
    }

    fn unsubscribe(&self, key: &str) {
        lock(&self.waiters).remove(key);
    }

    fn parks(&self, key: &str, check: Check) {
        lock(&self.parked).insert(key.to_owned(), check);
    }

    fn forget(&self, key: &str) {
        // Most engines park no callback: no lock for them.
        let mut parked = lock(&self.parked);
        if !parked.is_empty() {
            parked.remove(key);
        }
    }

    fn stored(&self, key: &str) -> crate::store::StoreFuture<'_, Option<CallbackResult>> {
        self.store.callback(key)
    }

    fn awaited(&self, waiting: &Waiting<'_>) -> crate::store::StoreFuture<'_, ()> {
        // The key is the driver's own: it always has a place.
        let place = Place::of(waiting.key).unwrap_or_default();
        self.store.await_callback(AwaitedCallback {
            key: waiting.key.to_owned(),
            token: waiting.token.to_owned(),
            execution: place.execution.to_owned(),
            anchor_state: place.anchor.0.to_owned(),
            anchor_entry: place.anchor.1,
            state: place.state.to_owned(),
            since: self.clock.now(),
            message: waiting.message.clone(),
        })
    }

    fn recheck_every(&self) -> Option<Duration> {
        self.recheck
    }
}

impl<C: Send + Sync + 'static> Engine<C> {
    /// Completes the callback task waiting on `token` with `output` (Step
    /// Functions' SendTaskSuccess). Stored first, so a task that is not
    /// waiting right now (the process restarts, or it runs in another
    /// process) finds it.
    ///
    /// The output's type is checked at the call when the task waits in
    /// this process (its `cx.callback::<T>()` knows `T`). When it waits in
    /// another process, or in none right now (parked, or between a crash
    /// and recovery), it cannot be: an output that is not a `T` is then
    /// stored, and the task's `callback` returns
    /// [`CallbackError::Undecodable`](crate::CallbackError::Undecodable).
    /// [`complete_typed`](Engine::complete_typed) has the compiler check
    /// it instead, wherever the task waits.
    ///
    /// # Errors
    ///
    /// - [`EngineError::InvalidToken`]: not a token of an execution in the
    ///   store (malformed; not made with its execution's secret: forged, or
    ///   altered; or its execution never was in the store, or was purged);
    /// - [`EngineError::StaleToken`]: the execution has ended, or has moved
    ///   past the state's entry the token was made for;
    /// - [`EngineError::WrongType`]: the output is not what the task
    ///   waiting here expects;
    /// - [`EngineError::AlreadyAnswered`]: another answer came first (the
    ///   task gets that one; sending the same answer again is not an error);
    /// - [`EngineError::Serialize`] if `output` cannot be serialized, and
    ///   [`EngineError::Store`] if the store fails.
    pub async fn complete_task(
        &self,
        token: &str,
        output: impl Serialize,
    ) -> Result<(), EngineError> {
        let result = CallbackResult::Succeeded(json(&output)?);
        self.answer(token, result).await
    }

    /// [`complete_task`](Engine::complete_task) with a token that says the
    /// output's type (see [`Ctx::callback_token_for`](crate::Ctx::callback_token_for)):
    /// the compiler checks that `output` is one.
    ///
    /// # Errors
    ///
    /// As [`complete_task`](Engine::complete_task).
    pub async fn complete_typed<T: Serialize>(
        &self,
        token: &CallbackToken<T>,
        output: &T,
    ) -> Result<(), EngineError> {
        self.complete_task(token.as_str(), output).await
    }

    /// Fails the callback task waiting on `token` (SendTaskFailure): its
    /// `cx.callback()` returns `CallbackError::Failed` with this error and
    /// cause.
    ///
    /// # Errors
    ///
    /// As [`complete_task`](Engine::complete_task), but for
    /// [`EngineError::WrongType`] and [`EngineError::Serialize`].
    pub async fn fail_task(
        &self,
        token: &str,
        error: impl Into<String>,
        cause: impl Into<String>,
    ) -> Result<(), EngineError> {
        let result = CallbackResult::Failed {
            error: error.into(),
            cause: cause.into(),
        };
        self.answer(token, result).await
    }

    /// Stores a callback's answer, then hands the answer that stands (the
    /// first) to a task waiting here: the task never sees a value the
    /// store did not keep.
    async fn answer(&self, token: &str, result: CallbackResult) -> Result<(), EngineError> {
        let store = &self.shared.store;
        let key = match self.open_token(token).await? {
            Opened::Waiting(key, _) => key,
            // The task waits no more, but may have had this very answer (an
            // approver retrying its request after the execution went on):
            // that is no error, and another answer is a late one.
            Opened::Stale(key) => {
                return match store.callback(&key).await? {
                    Some(kept) if kept == result => Ok(()),
                    Some(_) => Err(EngineError::AlreadyAnswered(token.to_owned())),
                    None => Err(EngineError::StaleToken(token.to_owned())),
                };
            }
        };
        let hub = &self.shared.callbacks;
        if let CallbackResult::Succeeded(json) = &result {
            hub.check(&key, json)
                .map_err(|detail| EngineError::WrongType {
                    token: token.to_owned(),
                    detail,
                })?;
        }
        let kept = store.complete_callback(&key, result.clone()).await?;
        let late = kept != result;
        hub.notify(&key, |state| state.result = Some(kept));
        hub.forget(&key);
        // A task parked on its callback waits in no process: its execution
        // is woken from the store. Whether it parked is not asked first:
        // it may park between that question and this answer.
        self.wake_parked(&key, self.shared.clock.now()).await?;
        if late {
            return Err(EngineError::AlreadyAnswered(token.to_owned()));
        }
        Ok(())
    }

    /// A heartbeat for the callback task waiting on `token`
    /// (SendTaskHeartbeat): it counts against the state's `heartbeat`.
    ///
    /// # Errors
    ///
    /// [`EngineError::InvalidToken`] and [`EngineError::StaleToken`], as for
    /// [`complete_task`](Engine::complete_task), and
    /// [`EngineError::Store`] if the store fails.
    pub async fn heartbeat_task(&self, token: &str) -> Result<(), EngineError> {
        let Opened::Waiting(key, parked) = self.open_token(token).await? else {
            return Err(EngineError::StaleToken(token.to_owned()));
        };
        self.shared
            .callbacks
            .notify(&key, |state| state.heartbeats += 1);
        // A parked task's heartbeat deadline is its execution's wake-up:
        // moved ahead, but not past its timeout.
        if let Some(parked) = parked
            && let Some(every) = parked.heartbeat
        {
            let now = self.shared.clock.now();
            self.wake_parked(&key, parked.wake_at(Some(now + every)))
                .await?;
            // An answer that came in between woke the task, and the line
            // above may have put it back to sleep.
            if self.shared.store.callback(&key).await?.is_some() {
                self.wake_parked(&key, now).await?;
            }
        }
        Ok(())
    }

    /// Sets the wake-up time of the execution parked on the callback task
    /// with key `key`, if it is parked on it; a wake-up due before the one
    /// the timer loop waits for is heard at once.
    async fn wake_parked(&self, key: &str, wake_at: SystemTime) -> Result<(), EngineError> {
        // The key is the driver's own: it always has a place.
        let place = Place::of(key).unwrap_or_default();
        let (state, entry) = place.anchor;
        let woken = self
            .shared
            .store
            .wake_callback(place.execution, state, entry, wake_at)
            .await?;
        if woken {
            self.shared.wake.notify_one();
        }
        Ok(())
    }

    /// The key of the task a token was made for, once the token is found
    /// to be its execution's (made with its secret), and whether the
    /// execution is still at that entry of the state (or of the Parallel
    /// or Map state it runs under).
    async fn open_token(&self, token: &str) -> Result<Opened, EngineError> {
        let invalid = || EngineError::InvalidToken(token.to_owned());
        let opened = Parts::new(token).ok_or_else(invalid)?;
        let place = opened.place();
        let stored = self
            .shared
            .store
            .execution(place.execution)
            .await?
            .ok_or_else(invalid)?;
        let minted =
            Secret::from_hex(&stored.callback_secret).is_some_and(|secret| secret.minted(&opened));
        if !minted {
            return Err(invalid());
        }
        let checkpoint = &stored.checkpoint;
        let there = checkpoint.status == Status::Running
            && checkpoint.state_name == place.anchor.0
            && checkpoint.entry == place.anchor.1;
        Ok(if there {
            Opened::Waiting(opened.key, checkpoint.callback)
        } else {
            Opened::Stale(opened.key)
        })
    }
}

/// A token found to be genuine: its task's key, and whether the task may
/// still wait.
enum Opened {
    /// The execution is at the token's entry; the callback its task is
    /// parked on, if the task has left memory to wait.
    Waiting(String, Option<ParkedCallback>),
    /// The execution has ended or moved past it.
    Stale(String),
}
