//! One execution as the memory store keeps it: smaller than a
//! [`StoredExecution`], which is built again when it is read.

use std::sync::Arc;
use std::time::SystemTime;

use super::names::{Name, Names};
use crate::error_info::ErrorInfo;
use crate::status::Status;
use crate::store::{Checkpoint, StoreError, StoredExecution};

/// One execution, kept smaller than a [`StoredExecution`] (which is built
/// again when one is read): the id and name shared with the maps that find
/// them, repeated strings as [`Name`]s, strings without spare capacity, and
/// the history encoded (see [`encode`]).
#[derive(Debug)]
pub(super) struct Row {
    pub(super) id: Arc<str>,
    pub(super) name: Arc<str>,
    pub(super) workflow: Name,
    pub(super) version: Name,
    pub(super) input: Box<str>,
    pub(super) started_at: SystemTime,
    pub(super) stopped_at: Option<SystemTime>,
    pub(super) last_event_id: u64,
    pub(super) fence: u64,
    pub(super) lease_until: Option<SystemTime>,
    pub(super) checkpoint: Saved,
    pub(super) events: Vec<u8>,
    pub(super) callback_secret: Box<str>,
    /// Purged: in no map and no index, its state, input and history freed,
    /// and skipped by `list`. Only a compaction removes it.
    pub(super) purged: bool,
}

/// A [`Checkpoint`], as a row keeps it.
#[derive(Debug)]
pub(super) struct Saved {
    pub(super) state: Box<str>,
    pub(super) state_name: Name,
    pub(super) waiting: Option<Name>,
    pub(super) entry: u64,
    pub(super) attempt: u32,
    pub(super) status: Status,
    pub(super) retries: Box<[u32]>,
    pub(super) wake_at: Option<SystemTime>,
    pub(super) output: Option<Box<str>>,
    // Boxed: most executions have none, and `None` then takes one word.
    pub(super) error: Option<Box<ErrorInfo>>,
}

impl Saved {
    pub(super) fn new(checkpoint: Checkpoint, names: &mut Names) -> Result<Saved, StoreError> {
        // Destructured whole, so a field added to `Checkpoint` fails to
        // compile here instead of being dropped.
        let Checkpoint {
            state,
            state_name,
            entry,
            attempt,
            retries,
            waiting,
            wake_at,
            status,
            output,
            error,
        } = checkpoint;
        Ok(Saved {
            state: state.into_boxed_str(),
            state_name: names.intern(&state_name)?,
            waiting: waiting.map(|w| names.intern(&w)).transpose()?,
            entry,
            attempt,
            status,
            retries: retries.into_boxed_slice(),
            wake_at,
            output: output.map(String::into_boxed_str),
            error: error.map(Box::new),
        })
    }

    pub(super) fn checkpoint(&self, names: &Names) -> Checkpoint {
        Checkpoint {
            state: self.state.to_string(),
            state_name: names.get(self.state_name).to_owned(),
            entry: self.entry,
            attempt: self.attempt,
            retries: self.retries.to_vec(),
            waiting: self.waiting.map(|w| names.get(w).to_owned()),
            wake_at: self.wake_at,
            status: self.status,
            output: self.output.as_ref().map(|o| o.to_string()),
            error: self.error.as_deref().cloned(),
        }
    }
}

impl Row {
    /// Where the row belongs in the claim indexes, if anywhere: ended
    /// executions are never claimed, so they are in neither.
    pub(super) fn index_key(&self) -> Option<IndexKey> {
        if self.checkpoint.status != Status::Running {
            return None;
        }
        Some(match self.lease_until {
            Some(until) => IndexKey::Leased(until),
            None => IndexKey::Due(self.checkpoint.wake_at),
        })
    }

    pub(super) fn stored(&self, names: &Names) -> StoredExecution {
        StoredExecution {
            id: self.id.to_string(),
            name: self.name.to_string(),
            workflow: names.get(self.workflow).to_owned(),
            version: names.get(self.version).to_owned(),
            input: self.input.to_string(),
            checkpoint: self.checkpoint.checkpoint(names),
            started_at: self.started_at,
            stopped_at: self.stopped_at,
            last_event_id: self.last_event_id,
            fence: self.fence,
            callback_secret: self.callback_secret.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum IndexKey {
    Due(Option<SystemTime>),
    Leased(SystemTime),
}
