//! A store in memory: the reference semantics, and the default.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

use super::{
    CallbackResult, Claim, Created, Filter, NewExecution, Store, StoreError, StoreFuture,
    StoredDefinition, StoredExecution, Transition, check_events,
};
use crate::engine::Status;
use crate::history::Event;

/// Keeps executions in memory: fast, and gone with the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    rows: HashMap<String, Row>,
    order: Vec<String>,
    by_name: HashMap<String, String>,
    callbacks: HashMap<String, CallbackResult>,
    definitions: Vec<StoredDefinition>,
}

#[derive(Debug)]
struct Row {
    execution: StoredExecution,
    lease_until: Option<SystemTime>,
    events: Vec<Event>,
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
        // The maps are updated whole under the lock, so a panic elsewhere
        // cannot leave them half-written.
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let result = f(&mut inner);
        Box::pin(std::future::ready(result))
    }
}

impl Inner {
    fn row(&mut self, id: &str, fence: u64) -> Result<&mut Row, StoreError> {
        let row = self
            .rows
            .get_mut(id)
            .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
        if row.execution.fence != fence {
            return Err(StoreError::Fenced {
                execution: id.to_owned(),
                held: fence,
            });
        }
        Ok(row)
    }
}

impl Store for MemoryStore {
    fn create(
        &self,
        execution: NewExecution,
        _owner: &str,
        lease_until: SystemTime,
    ) -> StoreFuture<'_, Created> {
        self.with(move |inner| {
            if let Some(id) = inner.by_name.get(&execution.name) {
                let existing = inner.rows.get(id).map(|r| r.execution.clone());
                return existing
                    .map(|e| Created::Existing(Box::new(e)))
                    .ok_or_else(|| StoreError::NotFound(id.clone()));
            }
            let stored = StoredExecution {
                id: execution.id.clone(),
                name: execution.name.clone(),
                workflow: execution.workflow,
                version: execution.version,
                input: execution.input,
                checkpoint: execution.checkpoint,
                started_at: execution.started_at,
                stopped_at: None,
                last_event_id: 0,
                fence: 1,
            };
            inner.by_name.insert(execution.name, execution.id.clone());
            inner.order.push(execution.id.clone());
            inner.rows.insert(
                execution.id,
                Row {
                    execution: stored,
                    lease_until: Some(lease_until),
                    events: Vec::new(),
                },
            );
            Ok(Created::New { fence: 1 })
        })
    }

    fn commit(&self, transition: Transition) -> StoreFuture<'_, ()> {
        self.with(move |inner| {
            let row = inner.row(&transition.execution, transition.fence)?;
            check_events(
                &transition.execution,
                row.execution.last_event_id,
                &transition.events,
            )?;
            if let Some(last) = transition.events.last() {
                row.execution.last_event_id = last.id;
            }
            row.events.extend(transition.events);
            row.execution.checkpoint = transition.checkpoint;
            if transition.stopped_at.is_some() {
                row.execution.stopped_at = transition.stopped_at;
            }
            Ok(())
        })
    }

    fn claim(&self, claim: Claim) -> StoreFuture<'_, Vec<StoredExecution>> {
        self.with(move |inner| {
            let mut claimed = Vec::new();
            for id in &inner.order {
                if claimed.len() >= claim.limit {
                    break;
                }
                let Some(row) = inner.rows.get_mut(id) else {
                    continue;
                };
                let checkpoint = &row.execution.checkpoint;
                let due = checkpoint.wake_at.is_none_or(|t| t <= claim.due_by);
                let free = row.lease_until.is_none_or(|t| t <= claim.leases_expired_by);
                if checkpoint.status == Status::Running && due && free {
                    row.lease_until = Some(claim.lease_until);
                    row.execution.fence += 1;
                    claimed.push(row.execution.clone());
                }
            }
            Ok(claimed)
        })
    }

    fn release(&self, execution: &str, fence: u64) -> StoreFuture<'_, ()> {
        let execution = execution.to_owned();
        self.with(move |inner| {
            inner.row(&execution, fence)?.lease_until = None;
            Ok(())
        })
    }

    fn next_wake(&self, leases_expired_by: SystemTime) -> StoreFuture<'_, Option<SystemTime>> {
        self.with(move |inner| {
            Ok(inner
                .rows
                .values()
                .filter(|r| r.execution.checkpoint.status == Status::Running)
                .filter(|r| r.lease_until.is_none_or(|t| t <= leases_expired_by))
                .filter_map(|r| r.execution.checkpoint.wake_at)
                .min())
        })
    }

    fn execution(&self, id: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        let id = id.to_owned();
        self.with(move |inner| Ok(inner.rows.get(&id).map(|r| r.execution.clone())))
    }

    fn history(&self, id: &str) -> StoreFuture<'_, Vec<Event>> {
        let id = id.to_owned();
        self.with(move |inner| {
            inner
                .rows
                .get(&id)
                .map(|r| r.events.clone())
                .ok_or(StoreError::NotFound(id))
        })
    }

    fn list(&self, filter: Filter) -> StoreFuture<'_, Vec<StoredExecution>> {
        self.with(move |inner| {
            Ok(inner
                .order
                .iter()
                .filter_map(|id| inner.rows.get(id))
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
