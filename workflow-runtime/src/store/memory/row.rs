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
    pub(super) path: Option<Name>,
    pub(super) version: Name,
    pub(super) input: Box<str>,
    pub(super) started_at: SystemTime,
    pub(super) stopped_at: Option<SystemTime>,
    pub(super) last_event_id: u64,
    pub(super) fence: u64,
    pub(super) lease_until: Option<SystemTime>,
    pub(super) checkpoint: Saved,
    pub(super) events: Vec<u8>,
    pub(super) callback_secret: SecretText,
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
            path: self.path.map(|p| names.get(p).to_owned()),
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

/// An execution's callback secret as the row keeps it: the engine's
/// 64 lowercase hex digits as the 32 bytes they spell (a third of the
/// memory, kept in the row), anything else as given, so that every
/// secret reads back exactly as it was written.
#[derive(Debug)]
pub(super) enum SecretText {
    Hex([u8; 32]),
    Other(Box<str>),
}

impl SecretText {
    pub(super) fn new(text: String) -> SecretText {
        fn digit(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            }
        }
        let text_bytes = text.as_bytes();
        if text_bytes.len() == 64 {
            let mut bytes = [0u8; 32];
            let parsed = bytes.iter_mut().enumerate().all(|(i, byte)| {
                match (digit(text_bytes[2 * i]), digit(text_bytes[2 * i + 1])) {
                    (Some(high), Some(low)) => {
                        *byte = high << 4 | low;
                        true
                    }
                    _ => false,
                }
            });
            if parsed {
                return SecretText::Hex(bytes);
            }
        }
        SecretText::Other(text.into_boxed_str())
    }
}

impl std::fmt::Display for SecretText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretText::Hex(bytes) => bytes.iter().try_for_each(|b| write!(f, "{b:02x}")),
            SecretText::Other(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SecretText;

    #[test]
    fn a_secret_reads_back_as_written() {
        let hex = "0123456789abcdef".repeat(4);
        assert!(matches!(SecretText::new(hex.clone()), SecretText::Hex(_)));
        for text in [
            hex,
            "0123456789ABCDEF".repeat(4),
            "ab".repeat(31) + "zz",
            String::new(),
            "short".to_owned(),
            "é".repeat(32),
        ] {
            assert_eq!(SecretText::new(text.clone()).to_string(), text);
        }
    }
}
