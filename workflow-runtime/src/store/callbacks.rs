//! What stores keep of callback tasks: the tasks that wait (for the
//! pending list), the answers they get, and which execution a task's key
//! belongs to.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A callback task that started waiting, as [`Store::await_callback`](super::Store::await_callback)
/// records it for [`Store::pending_callbacks`](super::Store::pending_callbacks).
///
/// Callbacks are stored under the task's *key*, its idempotency key
/// (`<execution id>/<state>/<entry>`; a branch's or map item's key starts
/// with its root execution's id, then the Parallel or Map state and its
/// entry): the token handed out is made from it, and the engine turns
/// tokens back into keys.
#[derive(Debug, Clone, PartialEq)]
pub struct AwaitedCallback {
    /// The task's key.
    pub key: String,
    /// The token it handed out.
    pub token: String,
    /// The (root) execution it belongs to.
    pub execution: String,
    /// The root execution's state and entry the task is in or under: the
    /// callback is pending only while the execution's checkpoint is there
    /// ([`Checkpoint::state_name`](super::Checkpoint::state_name) and [`Checkpoint::entry`](super::Checkpoint::entry)).
    pub anchor_state: String,
    /// See [`anchor_state`](AwaitedCallback::anchor_state).
    pub anchor_entry: u64,
    /// The task's own state.
    pub state: String,
    /// When it started waiting.
    pub since: SystemTime,
    /// What it tells whoever lists it, as JSON.
    pub message: Option<String>,
}

/// Which pending callbacks to list, and from where.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingQuery {
    /// Only those of this workflow's executions.
    pub workflow: Option<String>,
    /// Only those of the execution with this id.
    pub execution: Option<String>,
    /// Only those recorded after the one with this sequence number (0:
    /// from the start).
    pub after: u64,
    /// At most this many.
    pub limit: usize,
}

/// A pending callback, as [`Store::pending_callbacks`](super::Store::pending_callbacks) lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRow {
    /// Where it is in the order of recording: what the next page starts
    /// after.
    pub seq: u64,
    /// The token the task handed out.
    pub token: String,
    /// The (root) execution's id.
    pub execution: String,
    /// Its name.
    pub name: String,
    /// Its workflow.
    pub workflow: String,
    /// The task's state.
    pub state: String,
    /// When it started waiting.
    pub since: SystemTime,
    /// What it tells whoever lists it, as JSON.
    pub message: Option<String>,
}

/// How a callback task was completed from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackResult {
    /// `complete_task`: the task's output, as JSON.
    Succeeded(String),
    /// `fail_task`: the error's name and cause.
    Failed {
        /// The error's name.
        error: String,
        /// A description.
        cause: String,
    },
}

/// The id of the execution a callback key belongs to: the key up to its
/// first `/` (a key is an idempotency key, `<execution id>/<state>/<entry>`,
/// and a branch's starts with its root execution's id).
pub fn callback_execution(key: &str) -> &str {
    key.split_once('/').map_or(key, |(execution, _)| execution)
}

/// A callback task parked in its checkpoint: the execution left memory
/// while the task waits for its answer, and what is kept here lets its
/// deadlines hold with no future waiting. The checkpoint's `wake_at` is the
/// nearest of them ([`unanswered`] with none): an answer moves it to now
/// ([`Store::wake_callback`](super::Store::wake_callback)), a heartbeat
/// moves it `heartbeat` ahead (but not past `timeout_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParkedCallback {
    /// When the attempt times out (its state's `timeout` after the attempt
    /// started), if the state has a timeout.
    pub timeout_at: Option<SystemTime>,
    /// The state's heartbeat interval, if it has one.
    pub heartbeat: Option<Duration>,
}

/// How [`ParkedCallback`] is kept: nanoseconds, as stores keep times.
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    timeout_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    heartbeat: Option<u64>,
}

/// The wake-up time of a task parked on a callback with no deadline: only
/// an answer wakes it. The latest time every store keeps (nanoseconds from
/// the Unix epoch in a signed 64-bit integer: April 2262), so that no claim
/// of due executions takes it before.
pub fn unanswered() -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(i64::MAX.unsigned_abs())
}

impl ParkedCallback {
    /// The text a store keeps it as (JSON).
    pub fn encode(&self) -> String {
        let kept = Kept {
            timeout_at: self.timeout_at.map(|at| {
                at.duration_since(UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            }),
            heartbeat: self
                .heartbeat
                .map(|every| u64::try_from(every.as_nanos()).unwrap_or(u64::MAX)),
        };
        // Two optional integers: serializing cannot fail.
        serde_json::to_string(&kept).unwrap_or_default()
    }

    /// Reads what [`encode`](ParkedCallback::encode) wrote.
    ///
    /// # Errors
    ///
    /// What is wrong with the text, for a [`StoreError::Corrupt`](super::StoreError::Corrupt).
    pub fn decode(text: &str) -> Result<Self, String> {
        let kept: Kept = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let timeout_at = match kept.timeout_at {
            Some(nanos) => Some(
                u64::try_from(nanos)
                    .map(|nanos| UNIX_EPOCH + Duration::from_nanos(nanos))
                    .map_err(|_| format!("a timeout before 1970: {nanos}"))?,
            ),
            None => None,
        };
        Ok(ParkedCallback {
            timeout_at,
            heartbeat: kept.heartbeat.map(Duration::from_nanos),
        })
    }

    /// When the task is next due, if its last heartbeat (or its start)
    /// leaves it due at `heartbeat_due`: the nearer deadline, or
    /// [`unanswered`].
    pub fn wake_at(&self, heartbeat_due: Option<SystemTime>) -> SystemTime {
        [self.timeout_at, heartbeat_due]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(unanswered)
    }
}
