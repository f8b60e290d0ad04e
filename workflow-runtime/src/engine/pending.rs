//! The callbacks that wait for an answer, listed from the store: what an
//! approver's inbox shows.

use serde::Serialize;

use super::*;
use crate::store::{PendingQuery, PendingRow};

/// How many pending callbacks a page holds unless the filter says.
const PAGE: usize = 100;

/// Which pending callbacks [`Engine::pending_callbacks`] lists, and from
/// where: build it with [`PendingFilter::new`] and its setters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PendingFilter {
    workflow: Option<String>,
    execution: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
}

impl PendingFilter {
    /// Every pending callback, a first page of 100.
    pub fn new() -> Self {
        PendingFilter::default()
    }

    /// Only those of executions of this workflow.
    pub fn workflow(mut self, workflow: impl Into<String>) -> Self {
        self.workflow = Some(workflow.into());
        self
    }

    /// Only those of the execution with this id or, failing that, this
    /// name (those of its branches and map items included).
    pub fn execution(mut self, id_or_name: impl Into<String>) -> Self {
        self.execution = Some(id_or_name.into());
        self
    }

    /// The page after the one that gave this cursor
    /// ([`PendingCallbacks::next`]).
    pub fn after(mut self, cursor: impl Into<String>) -> Self {
        self.after = Some(cursor.into());
        self
    }

    /// At most this many (at least 1; 100 unless set).
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit.max(1));
        self
    }
}

/// A callback task that waits for an answer.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct PendingCallback {
    /// The token to answer it with (`complete_task`, `fail_task`).
    pub token: String,
    /// The id of its execution (the root's, for a task in a branch or a
    /// map item).
    pub execution_id: String,
    /// The execution's name.
    pub execution_name: String,
    /// The execution's workflow.
    pub workflow: String,
    /// The task's state.
    pub state: String,
    /// When it started waiting: its first wait, if it waited again after a
    /// restart.
    #[serde(with = "crate::serde_time::rfc3339")]
    pub since: SystemTime,
    /// What the task attached with [`Ctx::callback_with`](crate::Ctx::callback_with).
    pub message: Option<serde_json::Value>,
}

/// One page of [`Engine::pending_callbacks`].
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct PendingCallbacks {
    /// The callbacks, in the order they started waiting.
    pub callbacks: Vec<PendingCallback>,
    /// The cursor of the next page ([`PendingFilter::after`]), if this one
    /// was full: there may be more.
    pub next: Option<String>,
}

impl<C: Send + Sync + 'static> Engine<C> {
    /// The callback tasks that wait for an answer, read from the store: so
    /// a client-only engine lists those of every worker, and a restart
    /// loses none. A task is listed from when it awaits
    /// [`Ctx::callback`](crate::Ctx::callback) until it is answered, its
    /// execution moves past the state (for a task in a branch or map item:
    /// past the Parallel or Map state) or ends.
    ///
    /// Pages follow the order tasks started waiting in. On a store several
    /// processes write at once, a task that starts waiting while pages are
    /// read may show on a later listing rather than on this one's pages.
    ///
    /// # Errors
    ///
    /// [`EngineError::InvalidCursor`] if the filter's cursor is not one a
    /// page gave, [`EngineError::Store`] if the store fails.
    pub async fn pending_callbacks(
        &self,
        filter: PendingFilter,
    ) -> Result<PendingCallbacks, EngineError> {
        let after = match &filter.after {
            None => 0,
            Some(cursor) => cursor
                .parse()
                .map_err(|_| EngineError::InvalidCursor(cursor.clone()))?,
        };
        let execution = match &filter.execution {
            None => None,
            Some(id_or_name) => match self.find(id_or_name).await? {
                Some(found) => Some(found.id),
                None => {
                    return Ok(PendingCallbacks {
                        callbacks: Vec::new(),
                        next: None,
                    });
                }
            },
        };
        let limit = filter.limit.unwrap_or(PAGE);
        let query = PendingQuery {
            workflow: filter.workflow,
            execution,
            after,
            limit,
        };
        let rows = self.shared.store.pending_callbacks(query).await?;
        let next = (rows.len() >= limit)
            .then(|| rows.last().map(|row| row.seq.to_string()))
            .flatten();
        let callbacks = rows.into_iter().map(PendingCallback::from).collect();
        Ok(PendingCallbacks { callbacks, next })
    }
}

impl From<PendingRow> for PendingCallback {
    fn from(row: PendingRow) -> Self {
        PendingCallback {
            token: row.token,
            execution_id: row.execution,
            execution_name: row.name,
            workflow: row.workflow,
            state: row.state,
            since: row.since,
            // Written by the task as JSON; a message that no longer reads
            // as JSON (edited in the database) is shown as its text.
            message: row.message.map(|message| {
                serde_json::from_str(&message).unwrap_or(serde_json::Value::String(message))
            }),
        }
    }
}
