//! What stores keep of callback tasks: the tasks that wait (for the
//! pending list), the answers they get, and which execution a task's key
//! belongs to.

use std::time::SystemTime;

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
