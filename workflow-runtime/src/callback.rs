//! Callback tasks (Step Functions' task tokens): a task hands its token to
//! the outside world and waits until something calls
//! `engine.complete_task(token, output)` or `engine.fail_task(...)`.

use std::fmt;
use std::sync::Arc;

use tokio::sync::watch;

use crate::store::{CallbackResult, StoreError, StoreFuture};

/// Why a callback task got no output.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// `fail_task` was called with this error and cause.
    #[error("{error}: {cause}")]
    Failed {
        /// The error's name.
        error: String,
        /// A description.
        cause: String,
    },
    /// The output sent with `complete_task` is not what the task expects.
    #[error("the callback's output does not fit: {0}")]
    Undecodable(String),
    /// Callbacks need an engine; an inline run has none.
    #[error("callback tasks run on an engine, not inline")]
    NoEngine,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine went away while the task waited.
    #[error("the engine shut down while the task waited for its callback")]
    Closed,
}

/// What a waiting task hears about its token.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallbackState {
    pub(crate) heartbeats: u64,
    pub(crate) result: Option<CallbackResult>,
}

/// The engine's side of callbacks, as a waiting task sees it.
pub(crate) trait Callbacks: Send + Sync {
    /// Starts listening for the token's heartbeats and completion.
    fn subscribe(&self, token: &str) -> watch::Receiver<CallbackState>;
    /// Stops listening.
    fn unsubscribe(&self, token: &str);
    /// A completion that is already stored (it may have come while the
    /// process was down).
    fn stored(&self, token: &str) -> StoreFuture<'_, Option<CallbackResult>>;
    /// How often a waiting task looks in the store, when answers may be
    /// stored by another process; `None`: this process hears them all.
    fn recheck_every(&self) -> Option<std::time::Duration>;
}

/// A runner's link to its engine's callbacks.
#[derive(Clone)]
pub(crate) struct CallbackLink(pub(crate) Arc<dyn Callbacks>);

impl fmt::Debug for CallbackLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackLink")
    }
}

/// Waits for the token's completion, passing its heartbeats on to `beat`.
pub(crate) async fn wait(
    callbacks: &dyn Callbacks,
    token: &str,
    beat: impl Fn(),
) -> Result<String, CallbackError> {
    let mut updates = callbacks.subscribe(token);
    struct Unsubscribe<'a>(&'a dyn Callbacks, &'a str);
    impl Drop for Unsubscribe<'_> {
        fn drop(&mut self) {
            self.0.unsubscribe(self.1);
        }
    }
    let _unsubscribe = Unsubscribe(callbacks, token);
    // Subscribed first, then the store: a completion cannot slip between.
    let result = match callbacks.stored(token).await? {
        Some(result) => result,
        None => {
            let mut beats = updates.borrow().heartbeats;
            loop {
                let state = updates.borrow_and_update().clone();
                if state.heartbeats != beats {
                    beats = state.heartbeats;
                    beat();
                }
                if let Some(result) = state.result {
                    break result;
                }
                let recheck = callbacks.recheck_every();
                tokio::select! {
                    changed = updates.changed() => changed.map_err(|_| CallbackError::Closed)?,
                    () = async {
                        match recheck {
                            Some(every) => tokio::time::sleep(every).await,
                            None => std::future::pending().await,
                        }
                    } => {
                        if let Some(result) = callbacks.stored(token).await? {
                            break result;
                        }
                    }
                }
            }
        }
    };
    match result {
        CallbackResult::Succeeded(json) => Ok(json),
        CallbackResult::Failed { error, cause } => Err(CallbackError::Failed { error, cause }),
    }
}
