//! The order of writes when children finish concurrently: a finished map
//! item's write is slow (the store holds it until the test lets it go), two
//! more items finish meanwhile (their write waits for it, and takes both),
//! and a fourth fails, which drops the first three in the middle of their
//! writes. Every write still reaches the store, one after another in the
//! order their events were numbered, and the history has no gap.

#[macro_use]
#[path = "support/forward_store.rs"]
mod forward_store;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use workflow::prelude::*;
use workflow::store::{ChildTransition, MemoryStore, Store, StoreFuture, Transition};

/// A memory store whose child writes wait until the gate opens, and which
/// notes every write it passes on.
struct Gated {
    inner: MemoryStore,
    gate: watch::Receiver<bool>,
    /// Each write, as the store got it: the children's indexes for a child
    /// write, `None` for a commit.
    writes: Arc<Mutex<Vec<Option<Vec<u64>>>>>,
}

impl Store for Gated {
    fn commit(&self, t: Transition) -> StoreFuture<'_, ()> {
        self.writes.lock().unwrap().push(None);
        self.inner.commit(t)
    }
    fn commit_children(&self, t: ChildTransition) -> StoreFuture<'_, ()> {
        let mut gate = self.gate.clone();
        Box::pin(async move {
            let _ = gate.wait_for(|open| *open).await;
            let indexes = t.children.iter().map(|c| c.index).collect();
            self.writes.lock().unwrap().push(Some(indexes));
            self.inner.commit_children(t).await
        })
    }
    // Everything else goes to the store inside.
    forward_store!(inner:
        create, children, claim, release, renew_leases, next_wake, execution_named,
        execution, history, list, purge, complete_callback,
        wake_callback, callback, await_callback,
        pending_callbacks, save_definition, definitions
    );
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Fault {
    #[error("late")]
    Late,
}

/// Items 0 to 2 succeed at once; item 3 fails a second later.
async fn item(_cx: Ctx<'_, ()>, n: u64) -> Result<u64, Fault> {
    if n < 3 {
        return Ok(n);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    Err(Fault::Late)
}

#[workflow]
pub enum Item {
    #[start]
    #[task(item, next = Done)]
    Work(u64),
    #[succeed]
    Done(u64),
}

fn four(_: &u64) -> Vec<u64> {
    vec![0, 1, 2, 3]
}

#[workflow]
#[derive(Serialize, Deserialize)]
pub enum Spread {
    #[start]
    #[map(Item, items = four, max_concurrency = 0, next = Done)]
    Each(u64),
    #[succeed]
    Done(Vec<u64>),
}

#[tokio::test(start_paused = true)]
async fn child_writes_dropped_mid_way_land_in_order_before_the_end() {
    let (open, gate) = watch::channel(false);
    let writes = Arc::new(Mutex::new(Vec::new()));
    let engine = Engine::builder(())
        .store(Gated {
            inner: MemoryStore::new(),
            gate,
            writes: Arc::clone(&writes),
        })
        .build();
    engine.register::<Spread>();
    let handle = engine.start::<Spread>("spread", 0).await.unwrap();
    let id = handle.id().to_owned();
    // Item 3 has failed, the map with it; its end waits for the items'
    // writes, which wait for the gate.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let running = engine.describe(&id).await.unwrap().unwrap();
    assert_eq!(running.status, Status::Running, "the end waits its turn");
    open.send(true).unwrap();

    // Bounded, on the paused clock: a write refused for a gap would leave
    // the execution without an end.
    let error = tokio::time::timeout(Duration::from_secs(60), handle)
        .await
        .expect("the execution ends")
        .unwrap_err();
    assert_eq!(error.failure().unwrap().error, "Fault.Late");
    let writes = writes.lock().unwrap().clone();
    // The first item's write, then one of the two that finished while it
    // was in flight, then the execution's end.
    assert_eq!(
        writes[writes.len() - 3..],
        [Some(vec![0]), Some(vec![1, 2]), None],
        "{writes:?}"
    );
    let history = engine.history(&id).await.unwrap();
    for (i, event) in history.iter().enumerate() {
        assert_eq!(event.id, i as u64 + 1, "{history:#?}");
        assert_eq!(event.previous_event_id, i as u64);
    }
    let count = |kind| history.iter().filter(|e| e.kind == kind).count();
    assert_eq!(count(EventKind::MapIterationSucceeded), 3);
    assert_eq!(count(EventKind::MapIterationFailed), 1);
    assert_eq!(count(EventKind::MapIterationStarted), 4);
    assert_eq!(history.last().unwrap().kind, EventKind::ExecutionFailed);
}
