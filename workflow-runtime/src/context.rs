//! What a handler sees of its execution: [`Ctx`], and what a catch target
//! receives: [`Caught`].

use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::Instant;

use crate::callback::{CallbackError, CallbackLink, CallbackToken, Parking, Waiting};
use crate::error::TaskError;
use crate::token::Secret;

/// A task handler's view of its execution: the shared context, the attempt
/// number, a stable idempotency key, and heartbeats.
///
/// It dereferences to the context, so `cx.field` reads the context's field.
pub struct Ctx<'a, C> {
    pub(crate) context: &'a C,
    pub(crate) execution_id: &'a ExecutionId<'a>,
    pub(crate) state: &'static str,
    pub(crate) entry: u64,
    pub(crate) attempt: u32,
    pub(crate) heartbeat: &'a Heartbeat,
    pub(crate) callbacks: Option<&'a CallbackLink>,
}

// Manual impls: a derive would require `C: Clone`, but only a reference is copied.
impl<C> Clone for Ctx<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for Ctx<'_, C> {}

impl<'a, C> Ctx<'a, C> {
    /// The context every handler of the workflow shares.
    pub fn context(&self) -> &'a C {
        self.context
    }

    /// The attempt number within this entry of the state: 1 for the first
    /// attempt, 2 for the first retry, and so on.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The execution's id.
    pub fn execution_id(&self) -> &'a str {
        self.execution_id.get()
    }

    /// The name of the state this handler runs in.
    pub fn state(&self) -> &'static str {
        self.state
    }

    /// A key that is the same for every attempt of this entry of the state
    /// (and, with a store, across restarts) and different for any other
    /// entry: pass it to a payment API and a retried charge happens once.
    pub fn idempotency_key(&self) -> IdempotencyKey<'a> {
        IdempotencyKey::new(self.execution_id.get(), self.state, self.entry)
    }

    /// This entry's callback token: hand it to whoever completes the task
    /// (`engine.complete_task(token, output)`), then await
    /// [`callback`](Ctx::callback).
    ///
    /// It is URL-safe (base64url and a `.`), carries an HMAC under a random
    /// secret kept with the execution (so it cannot be guessed from the
    /// execution's id), and is the same for every attempt of this entry of
    /// the state and after a restart: a token handed out before a crash
    /// still answers the task after recovery. In an inline run, which has
    /// no engine to answer it, it is made under a secret of the process.
    pub fn callback_token(&self) -> String {
        let key = self.idempotency_key().to_string();
        match self.callbacks {
            Some(link) => link.secret.mint(&key),
            None => inline_secret().mint(&key),
        }
    }

    /// [`callback_token`](Ctx::callback_token) as a [`CallbackToken<T>`]:
    /// hand it to code that completes the task with
    /// [`Engine::complete_typed`](crate::Engine::complete_typed), and the
    /// compiler checks that it sends a `T`.
    pub fn callback_token_for<T>(&self) -> CallbackToken<T> {
        CallbackToken::new(self.callback_token())
    }

    /// Waits until the task's token is completed from outside, and returns
    /// the output sent with it. Heartbeats sent with
    /// `engine.heartbeat_task(token)` count as this task's heartbeats. A
    /// completion that arrived while the process was down is found at once.
    ///
    /// While it waits, the task is listed by
    /// [`Engine::pending_callbacks`](crate::Engine::pending_callbacks), and
    /// an answer that does not decode as `T` is refused at the
    /// `complete_task` call made in this process.
    ///
    /// On an engine that parks executions (the default: see
    /// [`EngineBuilder::park_after`](crate::EngineBuilder::park_after)),
    /// the execution leaves memory while the task waits, as it does in a
    /// long Wait state: the handler's future is dropped, the state's
    /// `timeout` and `heartbeat` deadlines are kept in the store, and the
    /// answer (or a deadline) wakes it from there, in this process or
    /// another. The handler then runs again from its start, and this call
    /// returns the stored answer at once: hand the token out only while
    /// [`callback_answered`](Ctx::callback_answered) says no, so it is
    /// handed out once. A deadline that passes fails the attempt without
    /// running the handler again. Tasks of Parallel branches and Map items,
    /// and executions with a `timeout` of their own, wait in memory.
    ///
    /// # Errors
    ///
    /// [`CallbackError::Failed`] if the task was failed with `fail_task`,
    /// [`CallbackError::Undecodable`] if the output is not a `T`,
    /// [`CallbackError::NoEngine`] in an inline run, and
    /// [`CallbackError::Store`] or [`CallbackError::Closed`] if the store
    /// or the engine fails while it waits.
    pub async fn callback<T: serde::de::DeserializeOwned>(&self) -> Result<T, CallbackError> {
        self.wait::<T>(None).await
    }

    /// Whether this entry's callback task has its answer already: it runs
    /// again after the answer came (parked, or across a restart). Hand the
    /// token out only when it has not, and the world hears of it once:
    ///
    /// ```no_run
    /// # use workflow_runtime::{CallbackError, Ctx};
    /// # async fn send_for_approval(_token: String) {}
    /// async fn approve(cx: Ctx<'_, ()>, _order: u64) -> Result<bool, CallbackError> {
    ///     if !cx.callback_answered().await? {
    ///         send_for_approval(cx.callback_token()).await;
    ///     }
    ///     cx.callback::<bool>().await
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// [`CallbackError::NoEngine`] in an inline run, and
    /// [`CallbackError::Store`] if the store fails.
    pub async fn callback_answered(&self) -> Result<bool, CallbackError> {
        let link = self.callbacks.ok_or(CallbackError::NoEngine)?;
        let key = self.idempotency_key().to_string();
        Ok(link.callbacks.stored(&key).await?.is_some())
    }

    /// [`callback`](Ctx::callback), with a message for whoever lists the
    /// pending callbacks (what to approve, say): it is kept as JSON and
    /// shown as [`PendingCallback::message`](crate::PendingCallback::message).
    ///
    /// # Errors
    ///
    /// As [`callback`](Ctx::callback), and [`CallbackError::Message`] if
    /// the message cannot be serialized.
    pub async fn callback_with<T: serde::de::DeserializeOwned>(
        &self,
        message: impl serde::Serialize,
    ) -> Result<T, CallbackError> {
        let message =
            serde_json::to_string(&message).map_err(|e| CallbackError::Message(e.to_string()))?;
        self.wait::<T>(Some(message)).await
    }

    async fn wait<T: serde::de::DeserializeOwned>(
        &self,
        message: Option<String>,
    ) -> Result<T, CallbackError> {
        let link = self.callbacks.ok_or(CallbackError::NoEngine)?;
        let key = self.idempotency_key().to_string();
        let token = link.secret.mint(&key);
        let waiting = Waiting {
            key: &key,
            token: &token,
            check: crate::callback::check::<T>,
            message,
        };
        let json =
            crate::callback::wait(&*link.callbacks, waiting, self.heartbeat.parking(), || {
                self.heartbeat();
            })
            .await?;
        serde_json::from_str(&json).map_err(|e| CallbackError::Undecodable(e.to_string()))
    }

    /// Tells the driver the handler is alive; a state with a `heartbeat`
    /// interval fails with `States.HeartbeatTimeout` when the gap between two
    /// heartbeats (or the start and the first) exceeds it.
    pub fn heartbeat(&self) {
        self.heartbeat.beat();
    }
}

impl<C> Deref for Ctx<'_, C> {
    type Target = C;

    fn deref(&self) -> &C {
        self.context
    }
}

impl<C> fmt::Debug for Ctx<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("execution_id", &self.execution_id.get())
            .field("state", &self.state)
            .field("entry", &self.entry)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// The secret of inline runs' tokens, which nothing can answer: drawn once
/// per process (from fastrand if the system has no randomness to give,
/// which is no weakness for tokens nobody accepts).
fn inline_secret() -> &'static Secret {
    static SECRET: OnceLock<Secret> = OnceLock::new();
    SECRET.get_or_init(|| Secret::draw().unwrap_or_else(|_| Secret::weak()))
}

/// The idempotency key of one entry of a state:
/// `<execution id>/<state>/<entry number>`. Formatting it allocates only when
/// you ask for a `String`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IdempotencyKey<'a> {
    execution_id: &'a str,
    state: &'static str,
    entry: u64,
}

impl<'a> IdempotencyKey<'a> {
    /// The key of entry `entry` of `state` in execution `execution_id`.
    pub(crate) fn new(execution_id: &'a str, state: &'static str, entry: u64) -> Self {
        IdempotencyKey {
            execution_id,
            state,
            entry,
        }
    }
}

impl fmt::Display for IdempotencyKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.execution_id, self.state, self.entry)
    }
}

/// An execution's id: the one its runner was given, or a random one drawn
/// the first time something asks for it (most inline runs never do, and
/// formatting 128 random bits costs more than the rest of a short run).
#[derive(Debug)]
pub(crate) struct ExecutionId<'a> {
    given: Option<&'a str>,
    drawn: OnceLock<String>,
}

impl<'a> ExecutionId<'a> {
    pub(crate) fn new(given: Option<&'a str>) -> Self {
        ExecutionId {
            given,
            drawn: OnceLock::new(),
        }
    }

    /// The id; the first call of a run without one draws it.
    pub(crate) fn get(&self) -> &str {
        match self.given {
            Some(id) => id,
            None => self
                .drawn
                .get_or_init(|| format!("{:032x}", fastrand::u128(..))),
        }
    }
}

impl fmt::Display for ExecutionId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

/// The last heartbeat of the running attempt, as an offset from an origin
/// read at the first beat (an attempt's start beats), so that a run whose
/// tasks have no heartbeat never reads the time for it.
///
/// It also carries the driver's offer to park while a task waits for its
/// callback, where the driver makes one: every `Ctx` and `StepCx` points
/// here already, and a pointer more in each (they are copied at every
/// state) cost an inline run a seventh of its time.
#[derive(Debug, Default)]
pub(crate) struct Heartbeat {
    origin: OnceLock<Instant>,
    last_nanos: AtomicU64,
    /// When the running attempt started, as the same offset.
    started_nanos: AtomicU64,
    pub(crate) parking: Option<Box<Parking>>,
}

impl Heartbeat {
    fn origin(&self) -> Instant {
        *self.origin.get_or_init(Instant::now)
    }

    /// Starts a new attempt: the gap is measured from now.
    pub(crate) fn reset(&self) {
        let nanos = self.beat();
        self.started_nanos.store(nanos, Ordering::Relaxed);
    }

    fn beat(&self) -> u64 {
        let nanos = u64::try_from(self.origin().elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.last_nanos.store(nanos, Ordering::Relaxed);
        nanos
    }

    /// When the last heartbeat came (or the attempt started).
    pub(crate) fn last(&self) -> Instant {
        self.at(&self.last_nanos)
    }

    /// When the running attempt started.
    pub(crate) fn started(&self) -> Instant {
        self.at(&self.started_nanos)
    }

    /// The driver's offer to park, if it makes one.
    pub(crate) fn parking(&self) -> Option<&Parking> {
        self.parking.as_deref()
    }

    /// The deadline the attempt about to run missed while parked, if it
    /// did.
    pub(crate) fn expired(&self) -> Option<&crate::error::Interrupt> {
        self.parking
            .as_ref()
            .and_then(|parking| parking.expired.as_ref())
    }

    fn at(&self, offset: &AtomicU64) -> Instant {
        self.origin() + std::time::Duration::from_nanos(offset.load(Ordering::Relaxed))
    }
}

/// What a catch target receives: the failed state's input and its error.
///
/// A catch target's data type is `Caught<In, E>` itself or any type that
/// implements `From<Caught<In, E>>`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Caught<In, E> {
    /// The input of the state that failed.
    pub input: In,
    /// The error that was caught.
    pub error: TaskError<E>,
}
