//! Callback tasks: answers from outside, stored first, handed to the
//! task waiting here.

use super::*;

/// Callback tasks waiting in this process, by token.
pub(super) struct CallbackHub {
    pub(super) store: Arc<dyn Store>,
    pub(super) waiters: Mutex<HashMap<String, watch::Sender<CallbackState>>>,
    /// On a store other processes share, an answer may be stored by
    /// another process: waiting tasks look in the store this often.
    pub(super) recheck: Option<Duration>,
}

impl CallbackHub {
    /// Tells a waiting task, if one waits here.
    pub(super) fn notify(&self, token: &str, change: impl FnOnce(&mut CallbackState)) {
        if let Some(waiter) = lock(&self.waiters).get(token) {
            waiter.send_modify(change);
        }
    }
}

impl Callbacks for CallbackHub {
    fn subscribe(&self, token: &str) -> watch::Receiver<CallbackState> {
        lock(&self.waiters)
            .entry(token.to_owned())
            .or_insert_with(|| watch::channel(CallbackState::default()).0)
            .subscribe()
    }

    fn unsubscribe(&self, token: &str) {
        lock(&self.waiters).remove(token);
    }

    fn stored(&self, token: &str) -> crate::store::StoreFuture<'_, Option<CallbackResult>> {
        self.store.callback(token)
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
    /// # Errors
    ///
    /// [`EngineError::AlreadyAnswered`] if another answer came first (the
    /// task gets that one; sending the same answer again is not an error),
    /// [`EngineError::UnknownToken`] if no running execution has the token.
    pub async fn complete_task(
        &self,
        token: &str,
        output: impl Serialize,
    ) -> Result<(), EngineError> {
        let result = CallbackResult::Succeeded(json(&output)?);
        self.answer(token, result).await
    }

    /// Fails the callback task waiting on `token` (SendTaskFailure): its
    /// `cx.callback()` returns `CallbackError::Failed` with this error and
    /// cause.
    ///
    /// # Errors
    ///
    /// As [`complete_task`](Engine::complete_task).
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
    pub(super) async fn answer(
        &self,
        token: &str,
        result: CallbackResult,
    ) -> Result<(), EngineError> {
        self.running_token(token).await?;
        let kept = self
            .shared
            .store
            .complete_callback(token, result.clone())
            .await?;
        let late = kept != result;
        self.shared
            .callbacks
            .notify(token, |state| state.result = Some(kept));
        if late {
            return Err(EngineError::AlreadyAnswered(token.to_owned()));
        }
        Ok(())
    }

    /// A heartbeat for the callback task waiting on `token`
    /// (SendTaskHeartbeat): it counts against the state's `heartbeat`.
    pub async fn heartbeat_task(&self, token: &str) -> Result<(), EngineError> {
        self.running_token(token).await?;
        self.shared
            .callbacks
            .notify(token, |state| state.heartbeats += 1);
        Ok(())
    }

    /// Checks that a token belongs to a running execution of this store.
    pub(super) async fn running_token(&self, token: &str) -> Result<(), EngineError> {
        // A token is an idempotency key: it starts with the id of the
        // execution (a branch's key starts with its root execution's id).
        let execution = crate::store::callback_execution(token);
        match self.shared.store.execution(execution).await? {
            Some(stored) if stored.checkpoint.status == Status::Running => Ok(()),
            _ => Err(EngineError::UnknownToken(token.to_owned())),
        }
    }
}
