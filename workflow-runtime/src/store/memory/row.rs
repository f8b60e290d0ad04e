//! One execution as the memory store keeps it: one buffer of bytes, read
//! back into a [`StoredExecution`] (or its history) when it is read.
//!
//! The buffer holds, in order:
//!
//! - the head, what never changes: the start time (from the Unix epoch),
//!   the id and name (see [`put_text`]: the engine's hex ids take 16
//!   bytes), the workflow, path and version as one number (see
//!   [`Names::kind`]), the input and the callback secret;
//! - the history, appended to by each commit (see `history.rs`);
//! - the tail, rewritten by each commit and claim: the [`Meta`] (fence,
//!   last event id, one byte of flags, then the lease, wake-up and stop
//!   times, from the start) and the rest of the checkpoint, its state's
//!   JSON last.
//!
//! One allocation per execution, numbers as varints, times as offsets from
//! the start: a parked execution of a small workflow takes about 135 bytes
//! here, where separate fields and strings took about 600.

use std::time::{SystemTime, UNIX_EPOCH};

use super::codec::{
    put, put_text, put_time, read_text, take, take_epoch_time, take_raw_text, take_text, take_time,
    take_u32, take_u64,
};
use super::history;
use super::names::{Name, Names};
use crate::error_info::ErrorInfo;
use crate::history::Event;
use crate::status::Status;
use crate::store::{Checkpoint, NewExecution, ParkedCallback, StoreError, StoredExecution};

/// One execution (see the module's documentation for the layout).
#[derive(Debug)]
pub(super) struct Row {
    /// See `buffer.rs`.
    pub(super) data: Box<[u8]>,
    /// Whether `data` has room to grow (see `buffer.rs`).
    pub(super) roomy: bool,
    /// Where the tail starts, and the history ends.
    tail: u32,
    /// Kept outside the bytes: every claim, commit and list looks at it.
    pub(super) status: Status,
    /// Purged: in no map and no index, its bytes freed, and skipped by
    /// `list`. Only a compaction removes it.
    pub(super) purged: bool,
}

/// The part of a row's tail that claims and leases rewrite, and the
/// indexes read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Meta {
    pub(super) fence: u64,
    pub(super) last_event_id: u64,
    pub(super) lease_until: Option<SystemTime>,
    pub(super) wake_at: Option<SystemTime>,
    pub(super) stopped_at: Option<SystemTime>,
}

/// The head of a row, its texts still encoded.
struct Head<'a> {
    started_at: SystemTime,
    id: &'a [u8],
    name: &'a [u8],
    kind: Name,
    input: &'a [u8],
    secret: &'a [u8],
    /// Where the history starts.
    end: usize,
}

/// A tail's flags: which times of the meta follow it,
const LEASED: u8 = 1;
const WAKES: u8 = 2;
const STOPPED: u8 = 4;
/// and which optional parts of the checkpoint.
const CHECKPOINT_FLAGS: u8 = !(LEASED | WAKES | STOPPED);
const WAITING: u8 = 8;
/// Waiting in the state it is in (a Wait state's usual case), so the name
/// is not written twice.
const WAITING_HERE: u8 = 16;
const OUTPUT: u8 = 32;
const ERROR: u8 = 64;
const RETRIES: u8 = 128;

#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum IndexKey {
    Due(Option<SystemTime>),
    Leased(SystemTime),
}

/// A row whose bytes do not read back: only a bug in this store makes one.
pub(super) fn corrupt(execution: &str, detail: &str) -> StoreError {
    StoreError::Corrupt {
        execution: execution.to_owned(),
        what: "row",
        detail: detail.to_owned(),
    }
}

impl Row {
    /// A new execution, leased until `lease_until`.
    pub(super) fn new(
        execution: NewExecution,
        lease_until: SystemTime,
        names: &mut Names,
    ) -> Result<Row, StoreError> {
        // Destructured whole, so a field added to `NewExecution` fails to
        // compile here instead of being dropped.
        let NewExecution {
            id,
            name,
            workflow,
            path,
            version,
            input,
            checkpoint,
            started_at,
            callback_secret,
        } = execution;
        let mut data = Vec::new();
        put_time(&mut data, started_at, UNIX_EPOCH);
        put_text(&mut data, &id);
        put_text(&mut data, &name);
        let kind = names.kind(&workflow, path.as_deref(), &version)?;
        put(&mut data, u128::from(kind));
        put_text(&mut data, &input);
        put_text(&mut data, &callback_secret);
        let tail = u32::try_from(data.len()).map_err(|_| too_big())?;
        let meta = Meta {
            fence: 1,
            last_event_id: 0,
            lease_until: Some(lease_until),
            wake_at: checkpoint.wake_at,
            stopped_at: None,
        };
        let status = checkpoint.status;
        put_tail(&mut data, started_at, &meta, &checkpoint, names)?;
        let mut row = Row::empty(status);
        if !row.replace_from(0, &[&data]) {
            return Err(too_big());
        }
        row.tail = tail;
        Ok(row)
    }

    /// A row with no bytes yet.
    pub(super) fn empty(status: Status) -> Row {
        Row {
            data: Box::default(),
            roomy: false,
            tail: 0,
            status,
            purged: false,
        }
    }

    fn head(&self) -> Option<Head<'_>> {
        let mut bytes = self.bytes();
        let whole = bytes.len();
        let started_at = take_epoch_time(&mut bytes)?;
        let id = take_raw_text(&mut bytes)?;
        let name = take_raw_text(&mut bytes)?;
        let kind = take_u32(&mut bytes)?;
        let input = take_raw_text(&mut bytes)?;
        let secret = take_raw_text(&mut bytes)?;
        Some(Head {
            started_at,
            id,
            name,
            kind,
            input,
            secret,
            end: whole - bytes.len(),
        })
    }

    /// The id and the name, encoded (see [`put_text`]): the head's start,
    /// read without the rest of it, as lookups do.
    fn keys(&self) -> Option<(&[u8], &[u8])> {
        let mut bytes = self.bytes();
        take(&mut bytes)?;
        let id = take_raw_text(&mut bytes)?;
        Some((id, take_raw_text(&mut bytes)?))
    }

    /// The id, encoded (see [`put_text`]); empty once purged.
    pub(super) fn id_key(&self) -> &[u8] {
        self.keys().map_or(&[], |(id, _)| id)
    }

    /// The name, encoded (see [`put_text`]); empty once purged.
    pub(super) fn name_key(&self) -> &[u8] {
        self.keys().map_or(&[], |(_, name)| name)
    }

    /// The name, as given.
    pub(super) fn name(&self) -> Option<String> {
        read_text(self.head()?.name)
    }

    /// The id, as given.
    pub(super) fn id(&self) -> Option<String> {
        read_text(self.head()?.id)
    }

    /// The workflow, path and version (see [`Names::kind`]).
    pub(super) fn kind(&self) -> Option<Name> {
        self.head().map(|head| head.kind)
    }

    fn started_at(&self) -> Option<SystemTime> {
        take_epoch_time(&mut self.bytes())
    }

    fn tail_bytes(&self) -> &[u8] {
        self.bytes().get(self.tail as usize..).unwrap_or_default()
    }

    /// The meta, the checkpoint's flags, and the bytes of the checkpoint
    /// after the meta.
    fn meta_and_rest(&self) -> Option<(Meta, u8, &[u8])> {
        let started_at = self.started_at()?;
        let mut bytes = self.tail_bytes();
        let (meta, flags) = take_meta(&mut bytes, started_at)?;
        Some((meta, flags, bytes))
    }

    pub(super) fn meta(&self) -> Option<Meta> {
        self.meta_and_rest().map(|(meta, _, _)| meta)
    }

    /// Rewrites the meta, the rest of the tail as it was.
    pub(super) fn set_meta(&mut self, meta: &Meta) {
        let Some(started_at) = self.started_at() else {
            return;
        };
        let mut bytes = self.tail_bytes();
        let Some((_, flags)) = take_meta(&mut bytes, started_at) else {
            return;
        };
        let mut written = Vec::with_capacity(24 + bytes.len());
        put_meta(&mut written, started_at, meta, flags);
        written.extend_from_slice(bytes);
        // As long as it was, give or take a byte of a varint: it fits.
        self.replace_from(self.tail as usize, &[&written]);
    }

    /// The state the execution is in and how many it entered before: what
    /// a callback task is anchored to.
    pub(super) fn anchor(&self) -> Option<(Name, u64)> {
        let (_, flags, mut bytes) = self.meta_and_rest()?;
        let state_name = take_u32(&mut bytes)?;
        if flags & WAITING != 0 && flags & WAITING_HERE == 0 {
            take_u32(&mut bytes)?;
        }
        Some((state_name, take_u64(&mut bytes)?))
    }

    /// Where the row belongs in the claim indexes, if anywhere: ended
    /// executions are never claimed, so they are in neither.
    pub(super) fn index_key(&self) -> Option<IndexKey> {
        if self.status != Status::Running || self.purged {
            return None;
        }
        let meta = self.meta()?;
        Some(match meta.lease_until {
            Some(until) => IndexKey::Leased(until),
            None => IndexKey::Due(meta.wake_at),
        })
    }

    /// Appends checked `events` and writes `checkpoint` (and `stopped_at`,
    /// if given) over the one before, or keeps the one before if there is
    /// no new one; on an error the row is as it was.
    pub(super) fn commit(
        &mut self,
        checkpoint: Option<&Checkpoint>,
        events: &[Event],
        stopped_at: Option<SystemTime>,
        names: &mut Names,
    ) -> Result<(), StoreError> {
        let unreadable = || corrupt("", "its head or tail does not read back");
        let head = self.head().ok_or_else(unreadable)?;
        let (meta, flags, rest) = self.meta_and_rest().ok_or_else(unreadable)?;
        let started_at = head.started_at;
        // The history and the tail, in one allocation.
        let mut written = Vec::with_capacity(64 + rest.len());
        history::encode(&mut written, started_at, head.input, events, names)?;
        let history = written.len();
        let meta = Meta {
            last_event_id: events.last().map_or(meta.last_event_id, |e| e.id),
            wake_at: checkpoint.map_or(meta.wake_at, |c| c.wake_at),
            stopped_at: stopped_at.or(meta.stopped_at),
            ..meta
        };
        match checkpoint {
            Some(checkpoint) => put_tail(&mut written, started_at, &meta, checkpoint, names)?,
            None => {
                put_meta(&mut written, started_at, &meta, flags);
                written.extend_from_slice(rest);
            }
        }
        let events_end = self.tail as usize + history;
        let tail_at = u32::try_from(events_end).map_err(|_| too_big())?;
        if !self.replace_from(self.tail as usize, &[&written]) {
            return Err(too_big());
        }
        self.tail = tail_at;
        if let Some(checkpoint) = checkpoint {
            self.status = checkpoint.status;
        }
        if self.status != Status::Running {
            self.park();
        }
        Ok(())
    }

    /// Drops all spare capacity: the execution parks (or ends), and will
    /// not grow for a while.
    pub(super) fn park(&mut self) {
        self.trim();
    }

    /// The execution as the [`Store`](crate::store::Store) trait gives it.
    pub(super) fn stored(&self, names: &Names) -> Option<StoredExecution> {
        let head = self.head()?;
        let (meta, flags, rest) = self.meta_and_rest()?;
        let checkpoint = take_checkpoint(rest, flags, &meta, self.status, names)?;
        let (workflow, path, version) = names.kind_of(head.kind)?;
        Some(StoredExecution {
            id: read_text(head.id)?,
            name: read_text(head.name)?,
            workflow: names.get(workflow).to_owned(),
            path: path.map(|p| names.get(p).to_owned()),
            version: names.get(version).to_owned(),
            input: read_text(head.input)?,
            checkpoint,
            started_at: head.started_at,
            stopped_at: meta.stopped_at,
            last_event_id: meta.last_event_id,
            fence: meta.fence,
            callback_secret: read_text(head.secret)?,
        })
    }

    /// The history, as it was committed.
    pub(super) fn history(&self, execution: &str, names: &Names) -> Result<Vec<Event>, StoreError> {
        let head = self
            .head()
            .ok_or_else(|| corrupt(execution, "its head does not read back"))?;
        let input = read_text(head.input)
            .ok_or_else(|| corrupt(execution, "its input does not read back"))?;
        let events = self
            .bytes()
            .get(head.end..self.tail as usize)
            .ok_or_else(|| corrupt(execution, "its history is out of bounds"))?;
        history::decode(execution, events, head.started_at, &input, names)
    }

    /// Makes the row a tombstone: its bytes are returned, to be freed
    /// once the store's lock is released.
    pub(super) fn tombstone(&mut self) -> Box<[u8]> {
        self.purged = true;
        self.tail = 0;
        self.take_bytes()
    }
}

/// `bit` if `on`, else none.
fn flag(on: bool, bit: u8) -> u8 {
    if on { bit } else { 0 }
}

fn too_big() -> StoreError {
    StoreError::Full("an execution too large for memory".to_owned())
}

/// Writes a meta, with the checkpoint's `flags` in its flags' byte.
fn put_meta(out: &mut Vec<u8>, started_at: SystemTime, meta: &Meta, flags: u8) {
    let Meta {
        fence,
        last_event_id,
        lease_until,
        wake_at,
        stopped_at,
    } = *meta;
    put(out, u128::from(fence));
    put(out, u128::from(last_event_id));
    let flags = (flags & CHECKPOINT_FLAGS)
        | flag(lease_until.is_some(), LEASED)
        | flag(wake_at.is_some(), WAKES)
        | flag(stopped_at.is_some(), STOPPED);
    out.push(flags);
    for time in [lease_until, wake_at, stopped_at].into_iter().flatten() {
        put_time(out, time, started_at);
    }
}

/// Reads a meta, and the checkpoint's flags.
fn take_meta(bytes: &mut &[u8], started_at: SystemTime) -> Option<(Meta, u8)> {
    let fence = take_u64(bytes)?;
    let last_event_id = take_u64(bytes)?;
    let (&flags, rest) = bytes.split_first()?;
    *bytes = rest;
    let mut time = |flag: u8| -> Option<Option<SystemTime>> {
        if flags & flag == 0 {
            return Some(None);
        }
        take_time(bytes, started_at).map(Some)
    };
    let meta = Meta {
        fence,
        last_event_id,
        lease_until: time(LEASED)?,
        wake_at: time(WAKES)?,
        stopped_at: time(STOPPED)?,
    };
    Some((meta, flags & CHECKPOINT_FLAGS))
}

/// Writes a tail: the meta, then the checkpoint but for its status (kept
/// in the row) and wake-up time (in the meta), its state's JSON last and
/// unprefixed (it runs to the end).
fn put_tail(
    out: &mut Vec<u8>,
    started_at: SystemTime,
    meta: &Meta,
    checkpoint: &Checkpoint,
    names: &mut Names,
) -> Result<(), StoreError> {
    // Destructured whole, so a field added to `Checkpoint` fails to
    // compile here instead of being dropped.
    let Checkpoint {
        state,
        state_name,
        entry,
        attempt,
        retries,
        waiting,
        wake_at: _,
        callback,
        status: _,
        output,
        error,
    } = checkpoint;
    let here = waiting.as_ref().is_some_and(|w| w == state_name);
    let flags = flag(waiting.is_some(), WAITING)
        | flag(here, WAITING_HERE)
        | flag(output.is_some(), OUTPUT)
        | flag(error.is_some(), ERROR)
        | flag(!retries.is_empty(), RETRIES);
    put_meta(out, started_at, meta, flags);
    put(out, u128::from(names.intern(state_name)?));
    if let Some(waiting) = waiting.as_ref().filter(|_| !here) {
        put(out, u128::from(names.intern(waiting)?));
    }
    put(out, u128::from(*entry));
    // The attempt's low bit says whether a parked callback follows: all
    // eight flags are taken, and a callback is rare.
    put(
        out,
        u128::from(*attempt) << 1 | u128::from(callback.is_some()),
    );
    if let Some(callback) = callback {
        put_text(out, &callback.encode());
    }
    if !retries.is_empty() {
        put(out, retries.len() as u128);
        for &retry in retries {
            put(out, u128::from(retry));
        }
    }
    if let Some(output) = output {
        put_text(out, output);
    }
    if let Some(ErrorInfo { name, cause }) = error {
        put_text(out, name);
        put_text(out, cause);
    }
    out.extend_from_slice(state.as_bytes());
    Ok(())
}

/// Reads the checkpoint [`put_tail`] wrote after the meta.
fn take_checkpoint(
    mut bytes: &[u8],
    flags: u8,
    meta: &Meta,
    status: Status,
    names: &Names,
) -> Option<Checkpoint> {
    let state_name = take_u32(&mut bytes)?;
    let waiting = if flags & WAITING == 0 {
        None
    } else if flags & WAITING_HERE != 0 {
        Some(state_name)
    } else {
        Some(take_u32(&mut bytes)?)
    };
    let entry = take_u64(&mut bytes)?;
    let attempt_and_callback = take_u64(&mut bytes)?;
    let attempt = u32::try_from(attempt_and_callback >> 1).ok()?;
    let callback = if attempt_and_callback & 1 == 0 {
        None
    } else {
        Some(ParkedCallback::decode(&take_text(&mut bytes)?).ok()?)
    };
    let retries = if flags & RETRIES == 0 {
        Vec::new()
    } else {
        let count = usize::try_from(take(&mut bytes)?).ok()?;
        (0..count.min(bytes.len()))
            .map(|_| take_u32(&mut bytes))
            .collect::<Option<Vec<u32>>>()
            .filter(|r| r.len() == count)?
    };
    let output = if flags & OUTPUT == 0 {
        None
    } else {
        Some(take_text(&mut bytes)?)
    };
    let error = if flags & ERROR == 0 {
        None
    } else {
        let name = take_text(&mut bytes)?;
        let cause = take_text(&mut bytes)?;
        Some(ErrorInfo { name, cause })
    };
    let state = std::str::from_utf8(bytes).ok()?.to_owned();
    Some(Checkpoint {
        state,
        state_name: names.get(state_name).to_owned(),
        entry,
        attempt,
        retries,
        waiting: waiting.map(|w| names.get(w).to_owned()),
        wake_at: meta.wake_at,
        callback,
        status,
        output,
        error,
    })
}
