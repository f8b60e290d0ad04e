//! The store's wake-up channel: when another worker makes a parked
//! execution due, the engine's timer loop hears it at once instead of at
//! its next deadline or poll.

#[macro_use]
#[path = "support/forward_store.rs"]
mod forward_store;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::time::Instant;
use workflow::prelude::*;
use workflow::store::{MemoryStore, Store, StoreFuture, Transition};

/// A memory store with a bell that another worker would ring.
struct Bell {
    inner: MemoryStore,
    bell: Arc<Notify>,
}

impl Store for Bell {
    fn wake_up(&self) -> Option<StoreFuture<'_, ()>> {
        let bell = Arc::clone(&self.bell);
        Some(Box::pin(async move {
            bell.notified().await;
            Ok(())
        }))
    }
    // Everything else goes to the store inside.
    forward_store!(inner:
        create, commit, commit_children, children, claim, release, renew_leases,
        next_wake, execution_named, execution, history, list, purge, complete_callback,
        wake_callback,
        callback, await_callback, pending_callbacks, save_definition, definitions
    );
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
