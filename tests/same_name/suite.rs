// Workflows of one name in two modules, registered on one engine: each
// starts, runs and recovers as itself (the engine and the store tell them
// apart by their paths), including across a restart on a second store over
// the same data; executions stored before paths were recover by name and
// version when that is unambiguous; and two workflows that share a path
// are refused rather than run as each other. Paused clock throughout.
//
// Included once per store (`same_name_sqlite.rs`, `same_name_postgres.rs`),
// which defines `Place` (where a store keeps its data), `place()` (a fresh
// one), `open(&Place)` (a store over it, as a process that starts opens
// one) and `forget_paths(&Place)` (its executions as a store written before
// paths were keeps them).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
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

/// Triples, after a shorter wait: another definition, so another version.
mod c {
    use super::*;

    #[workflow]
    #[derive(Serialize, Deserialize)]
    pub enum Order {
        #[start]
        #[wait(seconds = 1800, next = Price)]
        Hold(u32),
        #[pass(price, next = Done)]
        Price(u32),
        #[succeed]
        Done(u32),
    }

    fn price(n: u32) -> u32 {
        n * 3
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

/// How long an engine holds what it claims: after a halt, a store that
/// other processes share lets another engine take over only then.
const LEASE: Duration = Duration::from_secs(300);

/// An engine on `place` with both `Order`s. It renews its leases and looks
/// for work less often than by default on a shared store: every look is a
/// round trip that blocks the test, and the waits here last an hour.
fn engine_on(place: &Place, clock: Clock) -> Engine<()> {
    let engine = Engine::builder(())
        .store(open(place))
        .clock(clock)
        .lease(LEASE)
        .poll_interval(Duration::from_secs(60))
        .build();
    engine.register::<a::Order>().register::<b::Order>();
    engine
}

/// `name` in this test crate (whose name says the store).
fn path_of(name: &str) -> String {
    format!("{}::{name}", module_path!())
}

/// Halts `engine` as a crash stops it, and lets its leases run out.
async fn crash(engine: Engine<()>) {
    engine.halt();
    tokio::time::sleep(LEASE).await;
}

#[test]
fn the_path_names_the_module_and_the_enum() {
    assert!(module_path!().starts_with("same_name_"), "{}", module_path!());
    assert_eq!(<a::Order as Workflow>::path(), path_of("a::Order"));
    assert_eq!(<b::Order as Workflow>::path(), path_of("b::Order"));
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
    let place = place();
    let engine = engine_on(&place, Clock::new());
    let doubled = engine.start::<a::Order>("a", 5).await.unwrap();
    let added = engine.start::<b::Order>("b", 5).await.unwrap();
    assert_eq!((doubled.await, added.await), (Ok(10), Ok(15)));
    // One name for both in the store's lists, as in exports.
    let listed = engine.list(Some("Order"), None).await.unwrap();
    assert_eq!(listed.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn workflows_of_one_name_in_two_modules_recover_as_themselves() {
    let place = place();
    let clock = Clock::new();
    let first = engine_on(&place, clock);
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
    crash(first).await;
    let second = engine_on(&place, clock);
    let mut recovery = second.recover().await.unwrap();
    recovery.resumed.sort();
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(recovery.resumed, both);
    // A description names the workflow by both.
    let described = second.describe(&b).await.unwrap().unwrap();
    assert_eq!(
        (described.workflow, described.path),
        ("Order".to_owned(), Some(path_of("b::Order")))
    );
    assert_eq!(second.handle::<a::Order>(a).await, Ok(10));
    assert_eq!(second.handle::<b::Order>(b).await, Ok(15));
}

#[tokio::test(start_paused = true)]
async fn executions_stored_without_a_path_recover_by_name_when_unambiguous() {
    let place = place();
    let clock = Clock::new();
    let first = engine_on(&place, clock);
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
    crash(first).await;
    // As a store written before paths were.
    forget_paths(&place);
    let second = engine_on(&place, clock);
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
    assert_eq!((parked.workflow.as_str(), parked.path), ("Order", None));
}

#[tokio::test(start_paused = true)]
async fn an_execution_stored_without_a_path_is_told_apart_by_its_version() {
    let place = place();
    let clock = Clock::new();
    let first = engine_on(&place, clock);
    first.register::<c::Order>();
    let tripled = first
        .start::<c::Order>("order", 5)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(60)).await;
    crash(first).await;
    forget_paths(&place);
    // Three `Order`s registered, one of them of the stored version.
    let second = engine_on(&place, clock);
    second.register::<c::Order>();
    let recovery = second.recover().await.unwrap();
    assert_eq!(
        recovery,
        Recovery {
            resumed: vec![tripled.clone()],
            skipped: Vec::new(),
        }
    );
    assert_eq!(second.handle::<c::Order>(tripled).await, Ok(15));
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
    let place = place();
    let engine = Engine::builder(()).store(open(&place)).build();
    assert_eq!(twin_one(&engine, true).await, Some(Ok(())));
    let twin = path_of("Twin");
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

#[tokio::test(start_paused = true)]
async fn an_execution_of_a_path_two_workflows_share_is_left_alone() {
    let place = place();
    let clock = Clock::new();
    let first = engine_on(&place, clock);
    assert_eq!(twin_one(&first, true).await, Some(Ok(())));
    let one = first.describe("one").await.unwrap().unwrap().id;
    crash(first).await;
    // Both `Twin`s registered: the stored path names either.
    let second = engine_on(&place, clock);
    assert_eq!(twin_one(&second, false).await, None);
    let twin = path_of("Twin");
    assert_eq!(
        twin_two(&second).await,
        Err(EngineError::Ambiguous(twin.clone()))
    );
    let recovery = second.recover().await.unwrap();
    assert_eq!(
        recovery,
        Recovery {
            resumed: Vec::new(),
            skipped: vec![RecoveryError::Ambiguous {
                execution: one.clone(),
                workflow: twin,
            }],
        }
    );
    let parked = second.describe(&one).await.unwrap().unwrap();
    assert_eq!(parked.status, Status::Running);
}
