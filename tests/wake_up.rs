//! The store's wake-up channel: when another worker makes a parked
//! execution due, the engine's timer loop hears it at once instead of at
//! its next deadline or poll.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::Instant;
use workflow::prelude::*;
use workflow::store::{
    AwaitedCallback, CallbackResult, ChildTransition, Claim, Created, Filter, FinishedChild,
    MemoryStore, NewExecution, PendingQuery, PendingRow, Store, StoreFuture, StoredDefinition,
    StoredExecution, Transition,
};

/// A memory store with a bell that another worker would ring.
struct Bell {
    inner: MemoryStore,
    bell: Arc<Notify>,
}

impl Store for Bell {
    fn create(&self, e: NewExecution, owner: &str, until: SystemTime) -> StoreFuture<'_, Created> {
        self.inner.create(e, owner, until)
    }
    fn commit(&self, t: Transition) -> StoreFuture<'_, ()> {
        self.inner.commit(t)
    }
    fn commit_children(&self, t: ChildTransition) -> StoreFuture<'_, ()> {
        self.inner.commit_children(t)
    }
    fn children(&self, id: &str, entry: u64, attempt: u32) -> StoreFuture<'_, Vec<FinishedChild>> {
        self.inner.children(id, entry, attempt)
    }
    fn claim(&self, c: Claim) -> StoreFuture<'_, Vec<StoredExecution>> {
        self.inner.claim(c)
    }
    fn release(&self, id: &str, fence: u64) -> StoreFuture<'_, ()> {
        self.inner.release(id, fence)
    }
    fn renew_leases(
        &self,
        held: Vec<(String, u64)>,
        until: SystemTime,
    ) -> StoreFuture<'_, Vec<String>> {
        self.inner.renew_leases(held, until)
    }
    fn next_wake(&self, by: SystemTime) -> StoreFuture<'_, Option<SystemTime>> {
        self.inner.next_wake(by)
    }
    fn execution_named(&self, name: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        self.inner.execution_named(name)
    }
    fn execution(&self, id: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        self.inner.execution(id)
    }
    fn history(&self, id: &str) -> StoreFuture<'_, Vec<workflow::Event>> {
        self.inner.history(id)
    }
    fn list(&self, filter: Filter) -> StoreFuture<'_, Vec<StoredExecution>> {
        self.inner.list(filter)
    }
    fn purge(&self, ended_before: SystemTime, limit: usize) -> StoreFuture<'_, u64> {
        self.inner.purge(ended_before, limit)
    }
    fn complete_callback(
        &self,
        token: &str,
        result: CallbackResult,
    ) -> StoreFuture<'_, CallbackResult> {
        self.inner.complete_callback(token, result)
    }
    fn callback(&self, token: &str) -> StoreFuture<'_, Option<CallbackResult>> {
        self.inner.callback(token)
    }
    fn await_callback(&self, awaited: AwaitedCallback) -> StoreFuture<'_, ()> {
        self.inner.await_callback(awaited)
    }
    fn pending_callbacks(&self, query: PendingQuery) -> StoreFuture<'_, Vec<PendingRow>> {
        self.inner.pending_callbacks(query)
    }
    fn save_definition(&self, definition: StoredDefinition) -> StoreFuture<'_, ()> {
        self.inner.save_definition(definition)
    }
    fn definitions(&self) -> StoreFuture<'_, Vec<StoredDefinition>> {
        self.inner.definitions()
    }
    fn wake_up(&self) -> Option<StoreFuture<'_, ()>> {
        let bell = Arc::clone(&self.bell);
        Some(Box::pin(async move {
            bell.notified().await;
            Ok(())
        }))
    }
}

#[workflow]
#[derive(Serialize, Deserialize)]
pub enum Nap {
    #[start]
    #[wait(seconds = 3600, next = Done)]
    Sleep(u64),
    #[succeed]
    Done(u64),
}

#[tokio::test(start_paused = true)]
async fn a_ring_from_another_worker_wakes_the_timer_loop_at_once() {
    let bell = Arc::new(Notify::new());
    let engine = Engine::builder(())
        .store(Bell {
            inner: MemoryStore::new(),
            bell: Arc::clone(&bell),
        })
        .build();
    engine.register::<Nap>();
    let started = Instant::now();
    let handle = engine.start::<Nap>("nap", 7).await.unwrap();
    // Half the timer loop's one-minute poll: only the bell can wake it now.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(engine.active_tasks(), 0, "parked");

    // Another worker moves the deadline to now, and rings.
    let stored = engine
        .store()
        .execution(handle.id())
        .await
        .unwrap()
        .unwrap();
    let mut checkpoint = stored.checkpoint.clone();
    checkpoint.wake_at = Some(SystemTime::UNIX_EPOCH);
    engine
        .store()
        .commit(Transition {
            execution: stored.id.clone(),
            fence: stored.fence,
            checkpoint,
            events: Vec::new(),
            stopped_at: None,
        })
        .await
        .unwrap();
    bell.notify_one();

    assert_eq!(handle.await, Ok(7));
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(30),
        "resumed when rung, not at the hour's end nor at the next poll"
    );
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;
validate_exports!(Nap);
