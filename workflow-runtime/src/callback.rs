//! Callback tasks (Step Functions' task tokens): a task hands its token to
//! the outside world and waits until something calls
//! `engine.complete_task(token, output)` or `engine.fail_task(...)`.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tokio::sync::watch;

use crate::store::{CallbackResult, StoreError, StoreFuture};
use crate::token::Secret;

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
    /// The message given to [`Ctx::callback_with`](crate::Ctx::callback_with)
    /// cannot be serialized.
    #[error("the callback's message cannot be serialized: {0}")]
    Message(String),
}

/// A callback token that says which output its task expects: what
/// [`Ctx::callback_token_for`](crate::Ctx::callback_token_for) gives and
/// [`Engine::complete_typed`](crate::Engine::complete_typed) takes, so the
/// compiler checks the output's type where the token travels as this type.
///
/// It serializes as the token's string (in a URL, a JSON body, a database
/// column), and a string becomes one again with [`CallbackToken::new`],
/// `parse` or `Deserialize`: the type then is the reader's claim, which the
/// engine checks at the call when the task waits in this process (see
/// [`Engine::complete_task`](crate::Engine::complete_task)). Name it once
/// with a type alias (`type ApprovalToken = CallbackToken<Decision>;`) and
/// use the alias on both sides.
pub struct CallbackToken<T> {
    token: String,
    // `fn() -> T`: the handle neither owns a `T` nor limits where it is sent.
    output: PhantomData<fn() -> T>,
}

impl<T> CallbackToken<T> {
    /// The token `token`, for a task that expects a `T`.
    pub fn new(token: impl Into<String>) -> Self {
        CallbackToken {
            token: token.into(),
            output: PhantomData,
        }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// The token, as a string.
    pub fn into_string(self) -> String {
        self.token
    }
}

// Manual impls: derives would require them of `T`, which is never stored.
impl<T> Clone for CallbackToken<T> {
    fn clone(&self) -> Self {
        CallbackToken::new(self.token.clone())
    }
}

impl<T> PartialEq for CallbackToken<T> {
    fn eq(&self, other: &Self) -> bool {
        self.token == other.token
    }
}

impl<T> Eq for CallbackToken<T> {}

impl<T> std::hash::Hash for CallbackToken<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.token.hash(state);
    }
}

impl<T> fmt::Debug for CallbackToken<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CallbackToken").field(&self.token).finish()
    }
}

impl<T> fmt::Display for CallbackToken<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.token)
    }
}

impl<T> AsRef<str> for CallbackToken<T> {
    fn as_ref(&self) -> &str {
        &self.token
    }
}

impl<T> std::str::FromStr for CallbackToken<T> {
    type Err = std::convert::Infallible;

    fn from_str(token: &str) -> Result<Self, Self::Err> {
        Ok(CallbackToken::new(token))
    }
}

impl<T> Serialize for CallbackToken<T> {
    fn serialize<S: Serializer>(&self, to: S) -> Result<S::Ok, S::Error> {
        self.token.serialize(to)
    }
}

impl<'de, T> Deserialize<'de> for CallbackToken<T> {
    fn deserialize<D: Deserializer<'de>>(from: D) -> Result<Self, D::Error> {
        String::deserialize(from).map(CallbackToken::new)
    }
}

/// Whether an answer's JSON is what a waiting task expects; `Err` says why
/// not.
pub(crate) type Check = fn(&str) -> Result<(), String>;

/// The [`Check`] of a task that expects a `T`.
pub(crate) fn check<T: serde::de::DeserializeOwned>(json: &str) -> Result<(), String> {
    serde_json::from_str::<T>(json)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// What a task that starts waiting tells the engine.
#[derive(Debug)]
pub(crate) struct Waiting<'a> {
    /// Its key (its idempotency key), which answers are stored under.
    pub(crate) key: &'a str,
    /// The token it handed out.
    pub(crate) token: &'a str,
    /// What its output must decode as.
    pub(crate) check: Check,
    /// What it tells whoever lists the pending callbacks, as JSON.
    pub(crate) message: Option<String>,
}

/// What a waiting task hears about its token.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallbackState {
    pub(crate) heartbeats: u64,
    pub(crate) result: Option<CallbackResult>,
}

/// The engine's side of callbacks, as a waiting task sees it. Tasks are
/// known by their keys here; tokens are for the outside world.
pub(crate) trait Callbacks: Send + Sync {
    /// Starts listening for the key's heartbeats and completion; answers
    /// are checked with `check` while it listens.
    fn subscribe(&self, key: &str, check: Check) -> watch::Receiver<CallbackState>;
    /// Stops listening.
    fn unsubscribe(&self, key: &str);
    /// The task leaves memory to wait: its answers are still checked with
    /// `check` in this process, until it is answered or comes back.
    fn parks(&self, key: &str, check: Check);
    /// The parked task has come back (or ended): its check goes.
    fn forget(&self, key: &str);
    /// A completion that is already stored (it may have come while the
    /// process was down).
    fn stored(&self, key: &str) -> StoreFuture<'_, Option<CallbackResult>>;
    /// Records in the store that a task waits, for the pending list.
    fn awaited(&self, waiting: &Waiting<'_>) -> StoreFuture<'_, ()>;
    /// How often a waiting task looks in the store, when answers may be
    /// stored by another process; `None`: this process hears them all.
    fn recheck_every(&self) -> Option<std::time::Duration>;
}

/// A runner's link to its engine's callbacks, with the secret of the
/// execution it runs (its root's, for a branch or a map item).
#[derive(Clone)]
pub(crate) struct CallbackLink {
    pub(crate) callbacks: Arc<dyn Callbacks>,
    pub(crate) secret: Arc<Secret>,
}

impl fmt::Debug for CallbackLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CallbackLink")
    }
}

/// A driver's offer to let its execution leave memory while a task waits
/// for its callback. A waiting task takes it; the driver then drops the
/// step's future and parks the execution (its deadlines committed) until
/// an answer or a deadline wakes it, and runs the task again, which then
/// finds its answer in the store.
#[derive(Debug, Default)]
pub(crate) struct Parking {
    asked: AtomicBool,
    /// A deadline of the callback the attempt about to run was parked on
    /// passed with no answer: the attempt fails with it, its handler not
    /// run again.
    pub(crate) expired: Option<crate::error::Interrupt>,
}

impl Parking {
    /// A task waits for its callback and has nothing more to do until then.
    fn ask(&self) {
        self.asked.store(true, Ordering::Relaxed);
    }

    /// Whether a task asked to park since the last call.
    pub(crate) fn take(&self) -> bool {
        self.asked.swap(false, Ordering::Relaxed)
    }
}

/// Waits for the task's completion, passing its heartbeats on to `beat`;
/// with `parking`, parks the execution instead of waiting in memory.
pub(crate) async fn wait(
    callbacks: &dyn Callbacks,
    waiting: Waiting<'_>,
    parking: Option<&Parking>,
    beat: impl Fn(),
) -> Result<String, CallbackError> {
    let key = waiting.key;
    let mut updates = callbacks.subscribe(key, waiting.check);
    struct Unsubscribe<'a>(&'a dyn Callbacks, &'a str);
    impl Drop for Unsubscribe<'_> {
        fn drop(&mut self) {
            self.0.unsubscribe(self.1);
        }
    }
    let _unsubscribe = Unsubscribe(callbacks, key);
    // Subscribed first, then the store: a completion cannot slip between.
    let result = match callbacks.stored(key).await? {
        Some(result) => result,
        None => {
            // Listed as pending only now: a task that finds its answer
            // (resumed after it came) is not listed at all. An answer that
            // comes in between hides the row: the list leaves out answered
            // keys.
            callbacks.awaited(&waiting).await?;
            if let Some(parking) = parking {
                // Never woken: the driver drops this future as soon as
                // the step returns `Pending`, and the execution leaves
                // memory. An answer from now on wakes it from the store.
                callbacks.parks(key, waiting.check);
                parking.ask();
                std::future::pending::<()>().await;
            }
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
                        if let Some(result) = callbacks.stored(key).await? {
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
