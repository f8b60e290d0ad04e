//! Callback tasks that wait, kept for the pending list: by sequence
//! number (the list's order and cursor) and by key (one record per key);
//! and the wake-up of an execution parked on one.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::SystemTime;

use super::{HashMap, Inner};
use crate::status::Status;
use crate::store::{AwaitedCallback, PendingQuery, PendingRow, StoreError};

/// The awaited callbacks of a memory store.
#[derive(Debug, Default)]
pub(super) struct Awaited {
    by_seq: BTreeMap<u64, AwaitedCallback>,
    by_key: HashMap<String, u64>,
    last_seq: u64,
}

impl Awaited {
    /// Records a waiting task, unless its key is recorded.
    pub(super) fn insert(&mut self, awaited: AwaitedCallback) {
        if self.by_key.contains_key(&awaited.key) {
            return;
        }
        self.last_seq += 1;
        self.by_key.insert(awaited.key.clone(), self.last_seq);
        self.by_seq.insert(self.last_seq, awaited);
    }

    /// Forgets the record of an answered task.
    pub(super) fn answered(&mut self, key: &str) {
        if let Some(seq) = self.by_key.remove(key) {
            self.by_seq.remove(&seq);
        }
    }

    /// Whether nothing is recorded.
    pub(super) fn is_empty(&self) -> bool {
        self.by_seq.is_empty()
    }

    /// Forgets the records of purged executions.
    pub(super) fn purged(&mut self, purged: impl Fn(&str) -> bool) {
        let by_key = &mut self.by_key;
        self.by_seq.retain(|_, awaited| {
            let keep = !purged(&awaited.execution);
            if !keep {
                by_key.remove(&awaited.key);
            }
            keep
        });
    }
}

impl Inner {
    /// The pending callbacks `query` asks for (see
    /// [`Store::pending_callbacks`](crate::store::Store::pending_callbacks)).
    pub(super) fn pending(&self, query: &PendingQuery) -> Vec<PendingRow> {
        self.awaited
            .by_seq
            .range((Bound::Excluded(query.after), Bound::Unbounded))
            .filter(|(_, awaited)| {
                query
                    .execution
                    .as_ref()
                    .is_none_or(|id| *id == awaited.execution)
            })
            .filter(|(_, awaited)| !self.callbacks.contains_key(&awaited.key))
            .filter_map(|(&seq, awaited)| {
                let slot = self.slot(&awaited.execution)?;
                let row = &self.rows[slot as usize];
                let (state_name, entry) = row.anchor()?;
                let waits = row.status == Status::Running
                    && self.names.get(state_name) == awaited.anchor_state
                    && entry == awaited.anchor_entry;
                let workflow = self.names.get(self.names.kind_of(row.kind()?)?.0);
                let listed = waits && query.workflow.as_ref().is_none_or(|w| w == workflow);
                listed.then(|| PendingRow {
                    seq,
                    token: awaited.token.clone(),
                    execution: awaited.execution.clone(),
                    name: row.name().unwrap_or_default(),
                    workflow: workflow.to_owned(),
                    state: awaited.state.clone(),
                    since: awaited.since,
                    message: awaited.message.clone(),
                })
            })
            .take(query.limit)
            .collect()
    }
}

impl Inner {
    /// Sets the wake-up time of an execution parked on a callback at this
    /// entry of this state; see [`Store::wake_callback`](crate::store::Store::wake_callback).
    pub(super) fn wake_callback(
        &mut self,
        execution: &str,
        state: &str,
        entry: u64,
        wake_at: SystemTime,
    ) -> Result<bool, StoreError> {
        let Some(slot) = self.slot(execution) else {
            return Ok(false);
        };
        let checkpoint = self.stored(slot)?.checkpoint;
        let parked = checkpoint.status == Status::Running
            && checkpoint.callback.is_some()
            && checkpoint.state_name == state
            && checkpoint.entry == entry;
        if parked {
            self.update_meta(slot, |meta| meta.wake_at = Some(wake_at));
        }
        Ok(parked)
    }
}
