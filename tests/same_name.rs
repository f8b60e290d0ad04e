//! Workflows of one name in two modules, registered on one engine: each
//! starts, runs and recovers as itself (the engine and the store tell them
//! apart by their paths), including across a restart on a SQLite file;
//! executions stored before paths were recover by name and version when
//! that is unambiguous; and two workflows that share a path are refused
//! rather than run as each other. Paused clock throughout.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::store::{MemoryStore, SqliteStore};
use workflow::{Clock, EngineError, Recovery, RecoveryError};

/// Doubles: the same machine as `b::Order`, with another `price`.
mod a {
    use super::*;

    #[workflow]
    #[derive(Serialize, Deserialize)]
    pub enum Order {
        #[start]
        #[wait(seconds = 3600, next = Price)]
        Hold(u32),
        #[pass(price, next = Done)]
        Price(u32),
        #[succeed]
        Done(u32),
    }

    fn price(n: u32) -> u32 {
        n * 2
    }
}

/// Adds ten: its definition, and so its version, is `a::Order`'s.
mod b {
    use super::*;

    #[workflow]
    #[derive(Serialize, Deserialize)]
    pub enum Order {
        #[start]
        #[wait(seconds = 3600, next = Price)]
        Hold(u32),
        #[pass(price, next = Done)]
        Price(u32),
        #[succeed]
        Done(u32),
    }

    fn price(n: u32) -> u32 {
        n + 10
    }
}

/// A workflow no other one shares a name with.
#[workflow]
#[derive(Serialize, Deserialize)]
pub enum Solo {
    #[start]
    #[wait(seconds = 3600, next = Done)]
    Hold(u32),
    #[succeed]
    Done(u32),
}

fn engine_on(store: impl workflow::store::Store, clock: Clock) -> Engine<()> {
    let engine = Engine::builder(()).store(store).clock(clock).build();
    engine.register::<a::Order>().register::<b::Order>();
    engine
}

#[test]
fn the_path_names_the_module_and_the_enum() {
    assert_eq!(<a::Order as Workflow>::path(), "same_name::a::Order");
    assert_eq!(<b::Order as Workflow>::path(), "same_name::b::Order");
    assert_eq!(a::Order::definition().name, "Order");
    // The version is a hash of the definition's JSON.
    let json = |def| serde_json::to_string(def).unwrap();
    assert_eq!(
        json(a::Order::definition()),
        json(b::Order::definition()),
        "the test is about workflows the version cannot tell apart"
    );
}

#[tokio::test(start_paused = true)]
async fn workflows_of_one_name_in_two_modules_run_as_themselves() {
    let engine = engine_on(MemoryStore::new(), Clock::new());
    let doubled = engine.start::<a::Order>("a", 5).await.unwrap();
    let added = engine.start::<b::Order>("b", 5).await.unwrap();
    assert_eq!((doubled.await, added.await), (Ok(10), Ok(15)));
    // One name for both in the store's lists, as in exports.
    let listed = engine.list(Some("Order"), None).await.unwrap();
    assert_eq!(listed.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn workflows_of_one_name_in_two_modules_recover_as_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wf.db");
    let clock = Clock::new();
    let first = engine_on(SqliteStore::open(&path).unwrap(), clock);
    let a = first
        .start::<a::Order>("a", 5)
        .await
        .unwrap()
        .id()
        .to_owned();
    let b = first
        .start::<b::Order>("b", 5)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(60)).await;
    first.halt();
    let second = engine_on(SqliteStore::open(&path).unwrap(), clock);
    let mut recovery = second.recover().await.unwrap();
    recovery.resumed.sort();
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(recovery.resumed, both);
    assert_eq!(second.handle::<a::Order>(a).await, Ok(10));
    assert_eq!(second.handle::<b::Order>(b).await, Ok(15));
}

#[tokio::test(start_paused = true)]
async fn executions_stored_without_a_path_recover_by_name_when_unambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wf.db");
    let clock = Clock::new();
    let first = engine_on(SqliteStore::open(&path).unwrap(), clock);
    first.register::<Solo>();
    let order = first
        .start::<a::Order>("order", 5)
        .await
        .unwrap()
        .id()
        .to_owned();
    let solo = first
        .start::<Solo>("solo", 7)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(60)).await;
    first.halt();
    // As a database written before paths were stored.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute("UPDATE executions SET workflow_path = NULL", [])
        .unwrap();
    drop(raw);
    let second = engine_on(SqliteStore::open(&path).unwrap(), clock);
    second.register::<Solo>();
    let recovery = second.recover().await.unwrap();
    // Two registered `Order`s of one version could each be its own: it is
    // left alone, not run as either.
    assert_eq!(
        recovery,
        Recovery {
            resumed: vec![solo.clone()],
            skipped: vec![RecoveryError::Ambiguous {
                execution: order.clone(),
                workflow: "Order".to_owned(),
            }],
        }
    );
    assert_eq!(second.handle::<Solo>(solo).await, Ok(7));
    let parked = second.describe(&order).await.unwrap().unwrap();
    assert_eq!(parked.status, Status::Running);
}

/// Registers a `Twin` declared in this function and, if `start`, starts it.
async fn twin_one(engine: &Engine<()>, start: bool) -> Option<Result<(), EngineError>> {
    #[workflow]
    #[derive(Serialize, Deserialize)]
    enum Twin {
        #[start]
        #[wait(seconds = 1, next = Done)]
        Hold(u32),
        #[succeed]
        Done(u32),
    }
    engine.register::<Twin>();
    match start {
        true => Some(engine.start::<Twin>("one", 1).await.map(|_| ())),
        false => None,
    }
}

/// Another `Twin`, in another function of the same module: the same path.
async fn twin_two(engine: &Engine<()>) -> Result<(), EngineError> {
    #[workflow]
    #[derive(Serialize, Deserialize)]
    enum Twin {
        #[start]
        #[wait(seconds = 2, next = Done)]
        Hold(u32),
        #[succeed]
        Done(u32),
    }
    engine.register::<Twin>();
    engine.start::<Twin>("two", 2).await.map(|_| ())
}

#[tokio::test(start_paused = true)]
async fn two_workflows_of_one_path_are_refused_not_confused() {
    let engine = Engine::new(());
    assert_eq!(twin_one(&engine, true).await, Some(Ok(())));
    let twin = "same_name::Twin".to_owned();
    assert_eq!(
        twin_two(&engine).await,
        Err(EngineError::Ambiguous(twin.clone()))
    );
    assert_eq!(
        twin_one(&engine, true).await,
        Some(Err(EngineError::Ambiguous(twin)))
    );
    assert_eq!(twin_one(&engine, false).await, None);
}
