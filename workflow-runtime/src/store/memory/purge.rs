//! Purging a memory store: tombstones, and the compaction that sweeps them.
//!
//! Rows live in one `Vec`, indexed by slot from the maps and the claim
//! indexes, and kept in start order for `list`. Removing a row from the
//! middle would move every later one; instead a purge turns a row into a
//! tombstone: out of `by_id` and `by_name` (so no read finds it, and its
//! name and id are free again), its bytes freed at once, and flagged so
//! `list` skips it. An ended row is in no claim index already. What a
//! tombstone still takes is its fixed-size part (24 bytes); once
//! tombstones outnumber the live rows, the purge that made them so
//! compacts the `Vec` and
//! rebuilds the maps and indexes with the new slots. Each compaction costs
//! the live rows it moves, at most as many as the tombstones it sweeps, so
//! a purged row costs `O(1)` amortized, and a store that keeps being purged
//! keeps memory for about twice what it holds at most.

use std::collections::HashSet;
use std::time::SystemTime;

use super::{DueKey, IndexKey, Inner, Row, Slot};
use crate::status::Status;
use crate::store::callback_execution;

/// What a purged row held, freed once the store's lock is released.
pub(super) type Freed = Box<[u8]>;

impl Row {
    /// Whether a purge before `ended_before` deletes this row.
    fn purgeable(&self, ended_before: SystemTime) -> bool {
        !self.purged
            && self.status != Status::Running
            && self
                .meta()
                .and_then(|meta| meta.stopped_at)
                .is_some_and(|stopped| stopped < ended_before)
    }
}

impl Inner {
    /// Deletes at most `limit` executions that ended before `ended_before`,
    /// the earliest started first, and their callback answers.
    pub(super) fn purge(&mut self, ended_before: SystemTime, limit: usize) -> (u64, Vec<Freed>) {
        let slots: Vec<usize> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, row)| row.purgeable(ended_before))
            .map(|(slot, _)| slot)
            .take(limit)
            .collect();
        if slots.is_empty() {
            return (0, Vec::new());
        }
        let ids: HashSet<String, foldhash::fast::RandomState> = slots
            .iter()
            .filter_map(|&slot| self.rows[slot].id())
            .collect();
        let mut freed = Vec::with_capacity(slots.len());
        for &slot in &slots {
            let rows = &self.rows;
            let key_of = |slot: Slot| rows[slot as usize].id_key();
            self.by_id.remove(rows[slot].id_key(), key_of);
            let key_of = |slot: Slot| rows[slot as usize].name_key();
            self.by_name.remove(rows[slot].name_key(), key_of);
            freed.push(self.rows[slot].tombstone());
        }
        if !self.callbacks.is_empty() || !self.awaited.is_empty() {
            self.callbacks
                .retain(|key, _| !ids.contains(callback_execution(key)));
            self.awaited.purged(|execution| ids.contains(execution));
        }
        self.tombstones += slots.len();
        if self.tombstones > self.rows.len() - self.tombstones {
            self.compact();
        }
        (slots.len() as u64, freed)
    }

    /// Drops the tombstones, and gives the live rows new slots in the same
    /// order, in the maps and indexes too.
    fn compact(&mut self) {
        self.rows.retain(|row| !row.purged);
        self.tombstones = 0;
        self.by_id.clear();
        self.by_name.clear();
        self.due.clear();
        self.leased.clear();
        for (slot, row) in self.rows.iter().enumerate() {
            // Fewer rows than before, each of which had a slot: it fits.
            let slot = slot as Slot;
            self.by_id.insert(row.id_key(), slot);
            self.by_name.insert(row.name_key(), slot);
            match row.index_key() {
                Some(IndexKey::Due(at)) => self.due.insert(DueKey::new(at, slot)),
                Some(IndexKey::Leased(until)) => self.leased.insert((until, slot)),
                None => false,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{
        CallbackResult, Claim, Created, Filter, MemoryStore, NewExecution, Store, StoreError,
        Transition,
    };
    // The store's own test helpers: a time, a checkpoint.
    use crate::store::memory::tests::{at, checkpoint};

    async fn create(store: &MemoryStore, id: &str) {
        let new = NewExecution {
            id: id.to_owned(),
            name: format!("name-{id}"),
            workflow: "W".to_owned(),
            path: None,
            version: "v".to_owned(),
            input: "1".to_owned(),
            checkpoint: checkpoint(Status::Running, None),
            started_at: at(0),
            callback_secret: String::new(),
        };
        let created = store.create(new, "w", at(0)).await.unwrap();
        assert_eq!(created, Created::New { fence: 1 });
    }

    async fn end(store: &MemoryStore, id: &str, stopped_at: SystemTime) {
        let end = Transition {
            execution: id.to_owned(),
            fence: 1,
            checkpoint: checkpoint(Status::Succeeded, None),
            events: Vec::new(),
            stopped_at: Some(stopped_at),
        };
        store.commit(end).await.unwrap();
    }

    async fn park(store: &MemoryStore, id: &str, wake_at: SystemTime) {
        let park = Transition {
            execution: id.to_owned(),
            fence: 1,
            checkpoint: checkpoint(Status::Running, Some(wake_at)),
            events: Vec::new(),
            stopped_at: None,
        };
        store.commit(park).await.unwrap();
        store.release(id, 1).await.unwrap();
    }

    fn ids(store: &MemoryStore) -> Vec<String> {
        let inner = store.lock();
        inner
            .rows
            .iter()
            .map(|row| row.id().unwrap_or_default())
            .collect()
    }

    /// Tombstones until they outnumber the live rows, then a compaction:
    /// the survivors keep their order, and every map and index finds them
    /// at their new slots.
    #[tokio::test]
    async fn tombstones_are_swept_once_they_outnumber_the_living() {
        let store = MemoryStore::new();
        for n in 0..10 {
            create(&store, &format!("e{n}")).await;
        }
        // e0..e5 end; e6 and e7 park on timers; e8 and e9 stay held.
        for n in 0..6 {
            end(&store, &format!("e{n}"), at(10 + n)).await;
        }
        park(&store, "e6", at(500)).await;
        park(&store, "e7", at(400)).await;
        store
            .complete_callback("e1/Ask/3", CallbackResult::Succeeded("1".into()))
            .await
            .unwrap();
        store
            .complete_callback("e6/Ask/0", CallbackResult::Succeeded("6".into()))
            .await
            .unwrap();

        // Four of ten: tombstones, not yet swept.
        assert_eq!(store.purge(at(100), 4).await.unwrap(), 4);
        assert_eq!(store.lock().rows.len(), 10);
        assert_eq!(store.lock().tombstones, 4);
        {
            let inner = store.lock();
            let e0 = &inner.rows[0];
            assert!(e0.purged && e0.allocated() == 0);
        }
        assert_eq!(store.execution("e0").await.unwrap(), None);
        assert_eq!(
            store.history("e3").await,
            Err(StoreError::NotFound("e3".into()))
        );
        assert_eq!(store.callback("e1/Ask/3").await.unwrap(), None);
        let listed: Vec<String> = store
            .list(Filter::default())
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(listed, ["e4", "e5", "e6", "e7", "e8", "e9"]);

        // Two more make six tombstones of ten: swept.
        assert_eq!(store.purge(at(100), 4).await.unwrap(), 2);
        assert_eq!(ids(&store), ["e6", "e7", "e8", "e9"]);
        assert_eq!(store.lock().tombstones, 0);
        assert!(store.callback("e6/Ask/0").await.unwrap().is_some());
        // Each survivor is found by id and name at its new slot, and the
        // claim indexes point at the right rows.
        for id in ["e6", "e7", "e8", "e9"] {
            let found = store.execution(id).await.unwrap().unwrap();
            assert_eq!(found.id, id);
            let inner = store.lock();
            let slot = inner.named(&format!("name-{id}")).unwrap();
            assert_eq!(inner.rows[slot as usize].id().unwrap(), id);
        }
        assert_eq!(store.next_wake(at(0)).await.unwrap(), Some(at(400)));
        let claim = Claim {
            owner: "w2".to_owned(),
            lease_until: at(1_000),
            due_by: at(1_000),
            leases_expired_by: at(1_000),
            limit: 10,
        };
        let claimed: Vec<String> = store
            .claim(claim)
            .await
            .unwrap()
            .executions
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(claimed, ["e8", "e9", "e7", "e6"]);
        // The purged names are free again.
        create(&store, "e0").await;
        assert_eq!(ids(&store), ["e6", "e7", "e8", "e9", "e0"]);
    }
}
