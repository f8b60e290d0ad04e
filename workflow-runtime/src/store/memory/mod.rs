//! A store in memory: the reference semantics, and the default.

mod buffer;
mod codec;
mod due;
mod history;
mod keys;
mod names;
mod pending;
mod purge;
mod row;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::SystemTime;

use self::codec::encoded;
use self::due::{Due, DueKey};
use self::keys::Keys;
use self::names::Names;
use self::pending::Awaited;
use self::row::{IndexKey, Row, corrupt};
use super::{
    AwaitedCallback, CallbackResult, Checkpoint, ChildTransition, Claim, Claimed, Created, Filter,
    FinishedChild, NewExecution, PendingQuery, PendingRow, Store, StoreError, StoreFuture,
    StoredDefinition, StoredExecution, Transition, check_events,
};
use crate::history::Event;
use crate::status::Status;

/// The maps' hasher: foldhash, seeded per map at random (ids and names can
/// come from users, so a fixed function would let them pick collisions),
/// and several times faster than the standard SipHash on short strings.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// Keeps executions in memory: fast, and gone with the process.
///
/// [`claim`](Store::claim) and [`next_wake`](Store::next_wake) read two
/// ordered indexes instead of every execution, so parking many executions
/// costs `O(log n)` each rather than `O(n)` (plus, for a claim, the
/// executions it takes and any whose lease expired but that are not due
/// yet). A claim takes the earliest due executions first (those without a
/// timer before any with one, then by start) and returns them in that
/// order.
///
/// Each execution is kept as one buffer of bytes (see `memory/row.rs`:
/// its history encoded, repeated strings kept once, numbers as varints)
/// and rebuilt as a [`StoredExecution`] or a list of [`Event`]s when read,
/// so reads allocate and writes do not keep spare copies; the maps that
/// find a row by id or name keep a hash of it, not a copy.
///
/// [`purge`](Store::purge) frees a deleted execution's state, input and
/// history at once, and leaves a small tombstone in its place that no read
/// sees; once tombstones outnumber the live executions, the next purge
/// sweeps them out (see `memory/purge.rs`), so a store that is purged
/// keeps memory for what it holds, not for everything it ever held.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

/// An execution's place in [`Inner::rows`]. Slots grow in start order.
/// Rows leave only when a purge compacts them out (see `purge.rs`), which
/// renumbers every slot and rebuilds the maps and indexes that hold them,
/// under the lock: no slot is kept across a release of the lock.
type Slot = u32;

#[derive(Debug, Default)]
struct Inner {
    /// Every execution, in start order, so `list` needs no separate order;
    /// purged ones are tombstones until the next compaction.
    rows: Vec<Row>,
    /// How many of `rows` are tombstones.
    tombstones: usize,
    by_id: Keys,
    by_name: Keys,
    /// Running executions nobody holds, by when they are due. `None` (no
    /// timer) sorts first: such an execution is due at once.
    due: Due,
    /// Running executions someone holds, by when the lease expires, so a
    /// claim finds expired leases without looking at live ones.
    leased: BTreeSet<(SystemTime, Slot)>,
    names: Names,
    callbacks: HashMap<String, CallbackResult>,
    awaited: Awaited,
    definitions: Vec<StoredDefinition>,
    /// Finished children (branches, map items) of running executions, by
    /// execution, then by entry, attempt and index: a child's write adds
    /// one entry, and a resume reads one entry's range. Dropped when the
    /// execution ends, so ended executions keep none.
    children: HashMap<Box<str>, Children>,
}

/// One execution's finished children: (entry, attempt, index) to output.
type Children = std::collections::BTreeMap<(u64, u32, u64), Box<str>>;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T, StoreError>,
    ) -> StoreFuture<'_, T> {
        // Every method checks before it writes, and a row and its index
        // entries are updated together, so a panic elsewhere cannot leave
        // them half-written.
        let result = f(&mut self.lock());
        // Boxed once the lock is released.
        Box::pin(std::future::ready(result))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A write that succeeded: a future of no size, so boxing it as a
/// [`StoreFuture`] allocates nothing.
struct Written;

impl Future for Written {
    type Output = Result<(), StoreError>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(()))
    }
}

/// The outcome of a write, as a future: boxing a success allocates nothing.
fn written(result: Result<(), StoreError>) -> StoreFuture<'static, ()> {
    match result {
        Ok(()) => Box::pin(Written),
        Err(error) => Box::pin(std::future::ready(Err(error))),
    }
}

impl Inner {
    /// The slot of the execution with this id.
    fn slot(&self, id: &str) -> Option<Slot> {
        let rows = &self.rows;
        self.by_id
            .get(&encoded(id), |slot| rows[slot as usize].id_key())
    }

    /// The slot of the execution with this name.
    fn named(&self, name: &str) -> Option<Slot> {
        let rows = &self.rows;
        self.by_name
            .get(&encoded(name), |slot| rows[slot as usize].name_key())
    }

    /// The slot of the execution with this id, if its fence is current.
    fn fenced(&self, id: &str, fence: u64) -> Result<Slot, StoreError> {
        self.fenced_meta(id, fence).map(|(slot, _)| slot)
    }

    /// [`fenced`](Inner::fenced), and the row's meta with it.
    fn fenced_meta(&self, id: &str, fence: u64) -> Result<(Slot, row::Meta), StoreError> {
        let slot = self
            .slot(id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        let row = &self.rows[slot as usize];
        let meta = row
            .meta()
            .ok_or_else(|| corrupt(id, "its tail does not read back"))?;
        if meta.fence != fence {
            return Err(StoreError::Fenced {
                execution: id.to_owned(),
                held: fence,
            });
        }
        if row.status != Status::Running {
            return Err(StoreError::Ended(id.to_owned()));
        }
        Ok((slot, meta))
    }

    /// Writes one transition.
    fn commit(
        &mut self,
        execution: &str,
        fence: u64,
        checkpoint: &Checkpoint,
        events: &[Event],
        stopped_at: Option<SystemTime>,
    ) -> Result<(), StoreError> {
        let (slot, meta) = self.fenced_meta(execution, fence)?;
        check_events(execution, meta.last_event_id, events)?;
        self.update(slot, |row, names| {
            row.commit(Some(checkpoint), events, stopped_at, names)
        })
        .map_err(|error| named_corrupt(error, execution))?;
        if checkpoint.status != Status::Running && !self.children.is_empty() {
            self.children.remove(execution);
        }
        Ok(())
    }

    /// Writes finished children and their events.
    fn commit_children(&mut self, transition: ChildTransition) -> Result<(), StoreError> {
        let ChildTransition {
            execution,
            fence,
            children,
            events,
        } = transition;
        let (slot, meta) = self.fenced_meta(&execution, fence)?;
        check_events(&execution, meta.last_event_id, &events)?;
        // The checkpoint stays as it is; only the history grows.
        self.update(slot, |row, names| row.commit(None, &events, None, names))
            .map_err(|error| named_corrupt(error, &execution))?;
        let kept = self.children.entry(execution.into_boxed_str()).or_default();
        for child in children {
            kept.insert(
                (child.entry, child.attempt, child.index),
                child.output.into_boxed_str(),
            );
        }
        Ok(())
    }

    fn get(&self, id: &str) -> Option<&Row> {
        self.slot(id).map(|slot| &self.rows[slot as usize])
    }

    /// Changes a row, moving its index entries to match. Every change to a
    /// row's status, timer or lease must go through here, or the indexes
    /// go stale.
    fn update<T>(&mut self, slot: Slot, f: impl FnOnce(&mut Row, &mut Names) -> T) -> T {
        let row = &mut self.rows[slot as usize];
        let before = row.index_key();
        let result = f(row, &mut self.names);
        let after = row.index_key();
        if before != after {
            match before {
                Some(IndexKey::Due(at)) => self.due.remove(DueKey::new(at, slot)),
                Some(IndexKey::Leased(until)) => self.leased.remove(&(until, slot)),
                None => false,
            };
            self.index(slot, after);
        }
        result
    }

    /// Changes a row's meta (its fence, lease), through [`update`](Inner::update).
    fn update_meta(&mut self, slot: Slot, f: impl FnOnce(&mut row::Meta)) {
        self.update(slot, |row, _| {
            if let Some(mut meta) = row.meta() {
                f(&mut meta);
                row.set_meta(&meta);
            }
        });
    }

    fn index(&mut self, slot: Slot, key: Option<IndexKey>) {
        match key {
            Some(IndexKey::Due(at)) => self.due.insert(DueKey::new(at, slot)),
            Some(IndexKey::Leased(until)) => self.leased.insert((until, slot)),
            None => false,
        };
    }

    /// When the row in `slot` is due to wake.
    fn wake_at(&self, slot: Slot) -> Option<SystemTime> {
        self.rows[slot as usize]
            .meta()
            .and_then(|meta| meta.wake_at)
    }

    /// The slots a claim takes, earliest due first.
    fn claimable(&self, claim: &Claim) -> Vec<Slot> {
        // Due by then: no timer, or one at `due_by` or before.
        let due_by = DueKey::last(Some(claim.due_by));
        // Leases that expired: their holders are gone. The engine leases
        // until far ahead and releases on parking, so this range is empty
        // but after a crash (or on `recover`, which takes over all).
        let mut expired: Vec<DueKey> = self
            .leased
            .range(..=(claim.leases_expired_by, Slot::MAX))
            .map(|&(_, slot)| DueKey::new(self.wake_at(slot), slot))
            .filter(|&key| key <= due_by)
            .collect();
        expired.sort_unstable();
        let free = self.due.iter().take_while(|&key| key <= due_by);
        merge(free, expired)
            .take(claim.limit)
            .map(|key| key.slot)
            .collect()
    }

    fn next_wake(&self, leases_expired_by: SystemTime) -> Option<SystemTime> {
        // Past every `None` key: the first row with a timer.
        let free = self
            .due
            .first_after(DueKey::last(None))
            .and_then(|key| key.at());
        let expired = self
            .leased
            .range(..=(leases_expired_by, Slot::MAX))
            .filter_map(|&(_, slot)| self.wake_at(slot))
            .min();
        free.into_iter().chain(expired).min()
    }

    /// The execution in `slot`, as the trait gives it.
    fn stored(&self, slot: Slot) -> Result<StoredExecution, StoreError> {
        let row = &self.rows[slot as usize];
        row.stored(&self.names).ok_or_else(|| {
            let id = row.id().unwrap_or_default();
            corrupt(&id, "it does not read back")
        })
    }
}

/// A row's error with the execution's id in it.
fn named_corrupt(error: StoreError, execution: &str) -> StoreError {
    match error {
        StoreError::Corrupt { what, detail, .. } => StoreError::Corrupt {
            execution: execution.to_owned(),
            what,
            detail,
        },
        other => other,
    }
}

/// Two ascending sequences as one ascending sequence.
fn merge<T: Ord + Copy>(a: impl Iterator<Item = T>, b: Vec<T>) -> impl Iterator<Item = T> {
    let mut a = a.peekable();
    let mut b = b.into_iter().peekable();
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if y < x => b.next(),
        (Some(_), _) => a.next(),
        (None, _) => b.next(),
    })
}

impl Store for MemoryStore {
    fn create(
        &self,
        execution: NewExecution,
        _owner: &str,
        lease_until: SystemTime,
    ) -> StoreFuture<'_, Created> {
        self.with(move |inner| {
            if let Some(slot) = inner.named(&execution.name) {
                let existing = inner.stored(slot)?;
                return Ok(Created::Existing(Box::new(existing)));
            }
            if inner.slot(&execution.id).is_some() {
                // As the SQLite store's primary key refuses it.
                return Err(StoreError::Database(format!(
                    "an execution with id `{}` exists",
                    execution.id
                )));
            }
            let slot = Slot::try_from(inner.rows.len())
                .map_err(|_| StoreError::Full("too many executions in memory".to_owned()))?;
            let id = encoded(&execution.id);
            let name = encoded(&execution.name);
            let row = Row::new(execution, lease_until, &mut inner.names)?;
            let key = row.index_key();
            inner.rows.push(row);
            inner.by_id.insert(&id, slot);
            inner.by_name.insert(&name, slot);
            inner.index(slot, key);
            Ok(Created::New { fence: 1 })
        })
    }

    fn commit(&self, transition: Transition) -> StoreFuture<'_, ()> {
        let Transition {
            execution,
            fence,
            checkpoint,
            events,
            stopped_at,
        } = transition;
        let committed = self
            .lock()
            .commit(&execution, fence, &checkpoint, &events, stopped_at);
        // The transition is freed once the lock is released.
        written(committed)
    }

    fn commit_children(&self, transition: ChildTransition) -> StoreFuture<'_, ()> {
        let written_child = self.lock().commit_children(transition);
        written(written_child)
    }

    fn children(&self, id: &str, entry: u64, attempt: u32) -> StoreFuture<'_, Vec<FinishedChild>> {
        let id = id.to_owned();
        self.with(move |inner| {
            let Some(children) = inner.children.get(id.as_str()) else {
                return Ok(Vec::new());
            };
            Ok(children
                .range((entry, attempt, 0)..=(entry, attempt, u64::MAX))
                .map(|(&(entry, attempt, index), output)| FinishedChild {
                    entry,
                    attempt,
                    index,
                    output: output.to_string(),
                })
                .collect())
        })
    }

    fn claim(&self, claim: Claim) -> StoreFuture<'_, Claimed> {
        self.with(move |inner| {
            let slots = inner.claimable(&claim);
            let mut claimed = Vec::with_capacity(slots.len());
            for slot in slots {
                inner.update_meta(slot, |meta| {
                    meta.lease_until = Some(claim.lease_until);
                    meta.fence += 1;
                });
                claimed.push(inner.stored(slot)?);
            }
            // Rows are kept as typed values: none is corrupt.
            Ok(Claimed {
                executions: claimed,
                corrupt: Vec::new(),
            })
        })
    }

    fn release(&self, execution: &str, fence: u64) -> StoreFuture<'_, ()> {
        let mut inner = self.lock();
        let released = inner.fenced(execution, fence).map(|slot| {
            inner.update_meta(slot, |meta| meta.lease_until = None);
            // Parked: it will not grow until it is claimed again.
            inner.rows[slot as usize].park();
        });
        drop(inner);
        written(released)
    }

    fn renew_leases(
        &self,
        held: Vec<(String, u64)>,
        lease_until: SystemTime,
    ) -> StoreFuture<'_, Vec<String>> {
        self.with(move |inner| {
            let mut lost = Vec::new();
            for (id, fence) in held {
                let slot = inner.fenced(&id, fence).ok().filter(|&slot| {
                    inner.rows[slot as usize]
                        .meta()
                        .is_some_and(|meta| meta.lease_until.is_some())
                });
                match slot {
                    Some(slot) => {
                        inner.update_meta(slot, |meta| meta.lease_until = Some(lease_until));
                    }
                    None => lost.push(id),
                }
            }
            Ok(lost)
        })
    }

    fn next_wake(&self, leases_expired_by: SystemTime) -> StoreFuture<'_, Option<SystemTime>> {
        self.with(move |inner| Ok(inner.next_wake(leases_expired_by)))
    }

    fn execution_named(&self, name: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        let inner = self.lock();
        let found = inner.named(name).map(|slot| inner.stored(slot)).transpose();
        drop(inner);
        Box::pin(std::future::ready(found))
    }

    fn execution(&self, id: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        let id = id.to_owned();
        self.with(move |inner| inner.slot(&id).map(|slot| inner.stored(slot)).transpose())
    }

    fn history(&self, id: &str) -> StoreFuture<'_, Vec<Event>> {
        let id = id.to_owned();
        self.with(move |inner| {
            let row = inner
                .get(&id)
                .ok_or_else(|| StoreError::NotFound(id.clone()))?;
            row.history(&id, &inner.names)
        })
    }

    fn list(&self, filter: Filter) -> StoreFuture<'_, Vec<StoredExecution>> {
        self.with(move |inner| {
            let names = &inner.names;
            (0..inner.rows.len() as Slot)
                .filter(|&slot| {
                    let row = &inner.rows[slot as usize];
                    !row.purged
                        && filter.status.is_none_or(|s| s == row.status)
                        && filter.workflow.as_ref().is_none_or(|w| {
                            row.kind()
                                .and_then(|k| names.kind_of(k))
                                .is_some_and(|(n, _, _)| w == names.get(n))
                        })
                })
                .map(|slot| inner.stored(slot))
                .collect()
        })
    }

    fn purge(&self, ended_before: SystemTime, limit: usize) -> StoreFuture<'_, u64> {
        let (purged, freed) = self.lock().purge(ended_before, limit);
        // What the purged rows held is freed once the lock is released.
        drop(freed);
        Box::pin(std::future::ready(Ok(purged)))
    }

    fn complete_callback(
        &self,
        key: &str,
        result: CallbackResult,
    ) -> StoreFuture<'_, CallbackResult> {
        let key = key.to_owned();
        self.with(move |inner| {
            inner.awaited.answered(&key);
            Ok(inner.callbacks.entry(key).or_insert(result).clone())
        })
    }

    fn wake_callback(
        &self,
        execution: &str,
        state: &str,
        entry: u64,
        wake_at: SystemTime,
    ) -> StoreFuture<'_, bool> {
        let woken = self.lock().wake_callback(execution, state, entry, wake_at);
        Box::pin(std::future::ready(woken))
    }

    fn callback(&self, key: &str) -> StoreFuture<'_, Option<CallbackResult>> {
        let key = key.to_owned();
        self.with(move |inner| Ok(inner.callbacks.get(&key).cloned()))
    }

    fn await_callback(&self, awaited: AwaitedCallback) -> StoreFuture<'_, ()> {
        self.lock().awaited.insert(awaited);
        written(Ok(()))
    }

    fn pending_callbacks(&self, query: PendingQuery) -> StoreFuture<'_, Vec<PendingRow>> {
        self.with(move |inner| Ok(inner.pending(&query)))
    }

    fn save_definition(&self, definition: StoredDefinition) -> StoreFuture<'_, ()> {
        self.with(move |inner| {
            let kept = inner
                .definitions
                .iter()
                .any(|d| d.workflow == definition.workflow && d.version == definition.version);
            if !kept {
                inner.definitions.push(definition);
            }
            Ok(())
        })
    }

    fn definitions(&self) -> StoreFuture<'_, Vec<StoredDefinition>> {
        self.with(|inner| Ok(inner.definitions.clone()))
    }
}

#[cfg(test)]
mod tests;
