//! Durable executions on a SQLite file: an engine is halted mid-flight (as
//! a crash would stop it: nothing more is written), a second engine on the
//! same file recovers, and everything finishes as if nothing happened.
//! Both engines share one clock, tokio's paused one, and the store is
//! opened as in production (`SqliteStore::open`): its writes keep virtual
//! time where the engine is.
//!
//! This file holds what the tests share (the world, `Journey`, the setup);
//! the tests are in `durability/`, one concern a file: restarts
//! (`restart.rs`), what recovery leaves alone and reports (`skipped.rs`),
//! callbacks across a crash (`callbacks.rs`), one engine per file
//! (`one_engine_per_file.rs`) and a full disk (`full_disk.rs`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::store::SqliteStore;
use workflow::{Clock, Event, VersionPolicy};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Fault {
    #[error("flaky")]
    Flaky,
}

/// Shared by the engines before and after the "crash", like the outside
/// world a task's side effects land in.
#[derive(Default)]
pub struct World {
    /// Idempotency keys of every task attempt, in order.
    keys: Mutex<Vec<String>>,
    /// Attempt numbers seen by `flaky`.
    attempts: Mutex<Vec<u32>>,
}

#[derive(Clone, Default)]
pub struct Ctx2(Arc<World>);

async fn slow(cx: Ctx<'_, Ctx2>, n: u64) -> Result<u64, Fault> {
    cx.0.keys
        .lock()
        .unwrap()
        .push(cx.idempotency_key().to_string());
    tokio::time::sleep(Duration::from_secs(600)).await;
    Ok(n + 1)
}

async fn flaky(cx: Ctx<'_, Ctx2>, n: u64) -> Result<u64, Fault> {
    cx.0.attempts.lock().unwrap().push(cx.attempt());
    if cx.attempt() == 1 {
        Err(Fault::Flaky)
    } else {
        Ok(n * 10)
    }
}

#[workflow(context = Ctx2)]
#[derive(Serialize, Deserialize)]
pub enum Journey {
    #[start]
    #[wait(seconds = 3600, next = Work)]
    Hold(u64),
    #[task(slow, next = Retry)]
    Work(u64),
    #[task(flaky, next = Done)]
    #[retry(on = [Fault::Flaky], max_attempts = 2, interval = "1h")]
    Retry(u64),
    #[succeed]
    Done(u64),
}

struct Setup {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    clock: Clock,
    world: Ctx2,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("workflows.db");
        Setup {
            _dir: dir,
            path,
            clock: Clock::new(),
            world: Ctx2::default(),
        }
    }

    fn engine(&self) -> Engine<Ctx2> {
        self.engine_with(VersionPolicy::Park)
    }

    fn engine_with(&self, policy: VersionPolicy) -> Engine<Ctx2> {
        let engine = Engine::builder(self.world.clone())
            .store(SqliteStore::open(&self.path).unwrap())
            .clock(self.clock)
            .on_version_mismatch(policy)
            .build();
        engine.register::<Journey>();
        engine
    }
}

fn assert_gapless(history: &[Event]) {
    for (i, event) in history.iter().enumerate() {
        assert_eq!(event.id, i as u64 + 1, "{history:#?}");
        assert_eq!(event.previous_event_id, i as u64);
    }
}

fn count(history: &[Event], kind: EventKind) -> usize {
    history.iter().filter(|e| e.kind == kind).count()
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;

#[macro_use]
#[path = "support/forward_store.rs"]
mod forward_store;
validate_exports!(Journey, callbacks::Approval);

#[path = "durability/callbacks.rs"]
mod callbacks;
#[path = "durability/full_disk.rs"]
mod full_disk;
#[path = "durability/one_engine_per_file.rs"]
mod one_engine_per_file;
#[path = "durability/restart.rs"]
mod restart;
#[path = "durability/skipped.rs"]
mod skipped;
