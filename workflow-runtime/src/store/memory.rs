//! A store in memory: the reference semantics, and the default.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::{
    CallbackResult, Claim, Created, Filter, NewExecution, Store, StoreError, StoreFuture,
    StoredDefinition, StoredExecution, Transition, check_events,
};
use crate::engine::Status;
use crate::history::Event;

/// Keeps executions in memory: fast, and gone with the process.
///
/// [`claim`](Store::claim) and [`next_wake`](Store::next_wake) read two
/// ordered indexes instead of every execution, so parking many executions
/// costs `O(log n)` each rather than `O(n)`. A claim takes the earliest due
/// executions first (those without a timer before any with one) and returns
/// them in that order.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

/// An execution's place in [`Inner::rows`]. Rows are never removed, so a
/// slot stays valid, and slots grow in start order.
type Slot = u32;

#[derive(Debug, Default)]
struct Inner {
    /// Every execution, in start order, so `list` needs no separate order.
    rows: Vec<Row>,
    by_id: HashMap<Arc<str>, Slot>,
    by_name: HashMap<Arc<str>, Slot>,
    /// Running executions nobody holds, by when they are due. `None` (no
    /// timer) sorts first: such an execution is due at once.
    due: BTreeSet<(Option<SystemTime>, Slot)>,
    /// Running executions someone holds, by when the lease expires, so a
    /// claim finds expired leases without looking at live ones.
    leased: BTreeSet<(SystemTime, Slot)>,
    callbacks: HashMap<String, CallbackResult>,
    definitions: Vec<StoredDefinition>,
}

#[derive(Debug)]
struct Row {
    execution: StoredExecution,
    lease_until: Option<SystemTime>,
    events: Vec<Event>,
}

impl Row {
    /// Where the row belongs in the claim indexes, if anywhere: ended
    /// executions are never claimed, so they are in neither.
    fn index_key(&self) -> Option<IndexKey> {
        if self.execution.checkpoint.status != Status::Running {
            return None;
        }
        Some(match self.lease_until {
            Some(until) => IndexKey::Leased(until),
            None => IndexKey::Due(self.execution.checkpoint.wake_at),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum IndexKey {
    Due(Option<SystemTime>),
    Leased(SystemTime),
}

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
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let result = f(&mut inner);
        Box::pin(std::future::ready(result))
    }
}

impl Inner {
    /// The slot of the execution with this id, if its fence is current.
    fn fenced(&self, id: &str, fence: u64) -> Result<Slot, StoreError> {
        let slot = *self
            .by_id
            .get(id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        if self.rows[slot as usize].execution.fence != fence {
            return Err(StoreError::Fenced {
                execution: id.to_owned(),
                held: fence,
            });
        }
        Ok(slot)
    }

    fn get(&self, id: &str) -> Option<&Row> {
        self.by_id.get(id).map(|&slot| &self.rows[slot as usize])
    }

    /// Changes a row, moving its index entries to match. Every change to a
    /// row's status, timer or lease must go through here, or the indexes
    /// go stale.
    fn update<T>(&mut self, slot: Slot, f: impl FnOnce(&mut Row) -> T) -> T {
        let row = &mut self.rows[slot as usize];
        let before = row.index_key();
        let result = f(row);
        let after = row.index_key();
        if before != after {
            match before {
                Some(IndexKey::Due(at)) => self.due.remove(&(at, slot)),
                Some(IndexKey::Leased(until)) => self.leased.remove(&(until, slot)),
                None => false,
            };
            self.index(slot, after);
        }
        result
    }

    fn index(&mut self, slot: Slot, key: Option<IndexKey>) {
        match key {
            Some(IndexKey::Due(at)) => self.due.insert((at, slot)),
            Some(IndexKey::Leased(until)) => self.leased.insert((until, slot)),
            None => false,
        };
    }

    /// The slots a claim takes, earliest due first.
    fn claimable(&self, claim: &Claim) -> Vec<Slot> {
        let due = |at: Option<SystemTime>| at.is_none_or(|t| t <= claim.due_by);
        // Leases that expired: their holders are gone. The engine leases
        // until far ahead and releases on parking, so this range is empty
        // but after a crash (or on `recover`, which takes over all).
        let mut expired: Vec<(Option<SystemTime>, Slot)> = self
            .leased
            .range(..=(claim.leases_expired_by, Slot::MAX))
            .map(|&(_, slot)| (self.rows[slot as usize].execution.checkpoint.wake_at, slot))
            .filter(|&(at, _)| due(at))
            .collect();
        expired.sort_unstable();
        let free = self.due.iter().copied().take_while(|&(at, _)| due(at));
        merge(free, expired)
            .take(claim.limit)
            .map(|(_, slot)| slot)
            .collect()
    }

    fn next_wake(&self, leases_expired_by: SystemTime) -> Option<SystemTime> {
        // Past every `None` key: the first row with a timer.
        let free = self
            .due
            .range((Bound::Excluded((None, Slot::MAX)), Bound::Unbounded))
            .next()
            .and_then(|&(at, _)| at);
        let expired = self
            .leased
            .range(..=(leases_expired_by, Slot::MAX))
            .filter_map(|&(_, slot)| self.rows[slot as usize].execution.checkpoint.wake_at)
            .min();
        free.into_iter().chain(expired).min()
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
            if let Some(&slot) = inner.by_name.get(execution.name.as_str()) {
                let existing = inner.rows[slot as usize].execution.clone();
                return Ok(Created::Existing(Box::new(existing)));
            }
            if inner.by_id.contains_key(execution.id.as_str()) {
                // As the SQLite store's primary key refuses it.
                return Err(StoreError::Database(format!(
                    "an execution with id `{}` exists",
                    execution.id
                )));
            }
            let slot = Slot::try_from(inner.rows.len())
                .map_err(|_| StoreError::Full("too many executions in memory".to_owned()))?;
            let id: Arc<str> = Arc::from(execution.id.as_str());
            let name: Arc<str> = Arc::from(execution.name.as_str());
            let stored = StoredExecution {
                id: execution.id,
                name: execution.name,
                workflow: execution.workflow,
                version: execution.version,
                input: execution.input,
                checkpoint: execution.checkpoint,
                started_at: execution.started_at,
                stopped_at: None,
                last_event_id: 0,
                fence: 1,
            };
            let row = Row {
                execution: stored,
                lease_until: Some(lease_until),
                events: Vec::new(),
            };
            let key = row.index_key();
            inner.rows.push(row);
            inner.by_id.insert(id, slot);
            inner.by_name.insert(name, slot);
            inner.index(slot, key);
            Ok(Created::New { fence: 1 })
        })
    }

    fn commit(&self, transition: Transition) -> StoreFuture<'_, ()> {
        self.with(move |inner| {
            let slot = inner.fenced(&transition.execution, transition.fence)?;
            check_events(
                &transition.execution,
                inner.rows[slot as usize].execution.last_event_id,
                &transition.events,
            )?;
            inner.update(slot, |row| {
                if let Some(last) = transition.events.last() {
                    row.execution.last_event_id = last.id;
                }
                row.events.extend(transition.events);
                row.execution.checkpoint = transition.checkpoint;
                if transition.stopped_at.is_some() {
                    row.execution.stopped_at = transition.stopped_at;
                }
            });
            Ok(())
        })
    }

    fn claim(&self, claim: Claim) -> StoreFuture<'_, Vec<StoredExecution>> {
        self.with(move |inner| {
            let slots = inner.claimable(&claim);
            let mut claimed = Vec::with_capacity(slots.len());
            for slot in slots {
                claimed.push(inner.update(slot, |row| {
                    row.lease_until = Some(claim.lease_until);
                    row.execution.fence += 1;
                    row.execution.clone()
                }));
            }
            Ok(claimed)
        })
    }

    fn release(&self, execution: &str, fence: u64) -> StoreFuture<'_, ()> {
        let execution = execution.to_owned();
        self.with(move |inner| {
            let slot = inner.fenced(&execution, fence)?;
            inner.update(slot, |row| row.lease_until = None);
            Ok(())
        })
    }

    fn next_wake(&self, leases_expired_by: SystemTime) -> StoreFuture<'_, Option<SystemTime>> {
        self.with(move |inner| Ok(inner.next_wake(leases_expired_by)))
    }

    fn execution(&self, id: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        let id = id.to_owned();
        self.with(move |inner| Ok(inner.get(&id).map(|r| r.execution.clone())))
    }

    fn history(&self, id: &str) -> StoreFuture<'_, Vec<Event>> {
        let id = id.to_owned();
        self.with(move |inner| {
            inner
                .get(&id)
                .map(|r| r.events.clone())
                .ok_or(StoreError::NotFound(id))
        })
    }

    fn list(&self, filter: Filter) -> StoreFuture<'_, Vec<StoredExecution>> {
        self.with(move |inner| {
            Ok(inner
                .rows
                .iter()
                .map(|r| &r.execution)
                .filter(|e| filter.workflow.as_ref().is_none_or(|w| *w == e.workflow))
                .filter(|e| filter.status.is_none_or(|s| s == e.checkpoint.status))
                .cloned()
                .collect())
        })
    }

    fn complete_callback(&self, token: &str, result: CallbackResult) -> StoreFuture<'_, ()> {
        let token = token.to_owned();
        self.with(move |inner| {
            inner.callbacks.entry(token).or_insert(result);
            Ok(())
        })
    }

    fn callback(&self, token: &str) -> StoreFuture<'_, Option<CallbackResult>> {
        let token = token.to_owned();
        self.with(move |inner| Ok(inner.callbacks.get(&token).cloned()))
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
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::store::Checkpoint;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    fn checkpoint(status: Status, wake_at: Option<SystemTime>) -> Checkpoint {
        Checkpoint {
            state: "{}".to_owned(),
            state_name: "S".to_owned(),
            entry: 0,
            attempt: 1,
            retries: Vec::new(),
            waiting: None,
            wake_at,
            status,
            output: None,
            error: None,
        }
    }

    fn claim(now: SystemTime, leases_expired_by: SystemTime, limit: usize) -> Claim {
        Claim {
            owner: "w".to_owned(),
            lease_until: now + Duration::from_secs(30),
            due_by: now,
            leases_expired_by,
            limit,
        }
    }

    /// The indexes hold exactly what the rows say, and nothing else.
    fn assert_indexed(store: &MemoryStore) {
        let inner = store.inner.lock().unwrap();
        let mut due = BTreeSet::new();
        let mut leased = BTreeSet::new();
        for (slot, row) in inner.rows.iter().enumerate() {
            let slot = Slot::try_from(slot).unwrap();
            match row.index_key() {
                Some(IndexKey::Due(at)) => due.insert((at, slot)),
                Some(IndexKey::Leased(until)) => leased.insert((until, slot)),
                None => false,
            };
        }
        assert_eq!(inner.due, due, "the due index is stale");
        assert_eq!(inner.leased, leased, "the lease index is stale");
    }

    /// What a claim may take, by looking at every row: the rule the
    /// indexes must agree with.
    /// Ties go to the earliest started.
    fn eligible(store: &MemoryStore, claim: &Claim) -> Vec<(Option<SystemTime>, usize, String)> {
        let inner = store.inner.lock().unwrap();
        let mut eligible: Vec<_> = inner
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                let c = &r.execution.checkpoint;
                c.status == Status::Running
                    && c.wake_at.is_none_or(|t| t <= claim.due_by)
                    && r.lease_until.is_none_or(|t| t <= claim.leases_expired_by)
            })
            .map(|(n, r)| (r.execution.checkpoint.wake_at, n, r.execution.id.clone()))
            .collect();
        eligible.sort();
        eligible
    }

    fn next_wake_by_scan(store: &MemoryStore, leases_expired_by: SystemTime) -> Option<SystemTime> {
        let inner = store.inner.lock().unwrap();
        inner
            .rows
            .iter()
            .filter(|r| r.execution.checkpoint.status == Status::Running)
            .filter(|r| r.lease_until.is_none_or(|t| t <= leases_expired_by))
            .filter_map(|r| r.execution.checkpoint.wake_at)
            .min()
    }

    /// Random creates, commits, claims and releases: after each, the
    /// indexes match the rows, and claims and `next_wake` give what a scan
    /// of every row would.
    #[tokio::test]
    async fn the_indexes_agree_with_a_scan_of_every_row() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _round in 0..20 {
            let store = MemoryStore::new();
            // The fence each execution was last claimed with.
            let mut fences: Vec<u64> = Vec::new();
            for _ in 0..300 {
                let now = at(rng.u64(0..200));
                match rng.u8(0..4) {
                    0 => {
                        let id = format!("e{}", fences.len());
                        let wake = rng.bool().then(|| at(rng.u64(0..200)));
                        let new = NewExecution {
                            id: id.clone(),
                            name: id,
                            workflow: "W".to_owned(),
                            version: "v".to_owned(),
                            input: "1".to_owned(),
                            checkpoint: checkpoint(Status::Running, wake),
                            started_at: now,
                        };
                        store.create(new, "w", now).await.unwrap();
                        fences.push(1);
                    }
                    1 if !fences.is_empty() => {
                        let n = rng.usize(0..fences.len());
                        let status = if rng.u8(0..6) == 0 {
                            Status::Succeeded
                        } else {
                            Status::Running
                        };
                        let wake = rng.bool().then(|| at(rng.u64(0..200)));
                        let commit = Transition {
                            execution: format!("e{n}"),
                            fence: fences[n],
                            checkpoint: checkpoint(status, wake),
                            events: Vec::new(),
                            stopped_at: None,
                        };
                        // A stale fence is refused and changes nothing.
                        let _ = store.commit(commit).await;
                    }
                    2 if !fences.is_empty() => {
                        let n = rng.usize(0..fences.len());
                        let _ = store.release(&format!("e{n}"), fences[n]).await;
                    }
                    _ => {
                        let expired = if rng.bool() { now } else { at(1_000) };
                        let claim = claim(now, expired, rng.usize(0..4));
                        let expected = eligible(&store, &claim);
                        let claimed = store.claim(claim.clone()).await.unwrap();
                        // The earliest due, up to the limit.
                        let want: Vec<_> = expected
                            .iter()
                            .take(claim.limit)
                            .map(|(_, _, id)| id.clone())
                            .collect();
                        let got: Vec<_> = claimed.iter().map(|e| e.id.clone()).collect();
                        assert_eq!(got, want);
                        for e in &claimed {
                            let n: usize = e.id[1..].parse().unwrap();
                            assert_eq!(e.fence, fences[n] + 1);
                            fences[n] = e.fence;
                        }
                    }
                }
                assert_indexed(&store);
                for expired in [now, at(1_000)] {
                    assert_eq!(
                        store.next_wake(expired).await.unwrap(),
                        next_wake_by_scan(&store, expired)
                    );
                }
            }
        }
    }

    #[tokio::test]
    async fn a_claim_takes_the_earliest_due_first() {
        let store = MemoryStore::new();
        for (id, wake) in [
            ("late", Some(at(90))),
            ("early", Some(at(10))),
            ("now", None),
        ] {
            let new = NewExecution {
                id: id.to_owned(),
                name: id.to_owned(),
                workflow: "W".to_owned(),
                version: "v".to_owned(),
                input: "1".to_owned(),
                checkpoint: checkpoint(Status::Running, wake),
                started_at: at(0),
            };
            store.create(new, "w", at(0)).await.unwrap();
            store.release(id, 1).await.unwrap();
        }
        let claimed = store.claim(claim(at(100), at(100), 2)).await.unwrap();
        let ids: Vec<_> = claimed.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["now", "early"]);
    }

    #[tokio::test]
    async fn a_taken_id_is_refused_and_changes_nothing() {
        let store = MemoryStore::new();
        let new = |name: &str| NewExecution {
            id: "e1".to_owned(),
            name: name.to_owned(),
            workflow: "W".to_owned(),
            version: "v".to_owned(),
            input: "1".to_owned(),
            checkpoint: checkpoint(Status::Running, None),
            started_at: at(0),
        };
        store.create(new("first"), "w", at(0)).await.unwrap();
        let again = store.create(new("second"), "w", at(0)).await;
        assert!(matches!(again, Err(StoreError::Database(_))), "{again:?}");
        let all = store.list(Filter::default()).await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].name, "first");
        assert_indexed(&store);
    }
}
