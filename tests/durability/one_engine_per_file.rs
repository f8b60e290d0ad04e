//! One engine drives the executions in a SQLite file: a second one is
//! refused while the first lives and takes over once it stops, and a claim
//! under way when the engine halts does not lock the file again.

use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, Ordering};

use workflow::store::{Claim, Claimed, Store, StoreFuture};

use super::*;

#[tokio::test(start_paused = true)]
async fn a_second_engine_on_a_file_in_use_is_refused_and_takes_over_once_the_first_stops() {
    let setup = Setup::new();
    let first = setup.engine();
    let handle = first.start::<Journey>("trip", 1).await.unwrap();
    let id = handle.id().to_owned();

    // A second engine (another process, as far as the file can tell) would
    // take over the running execution on recovery: it is refused instead,
    // with the reason, and so are its starts.
    let second = setup.engine();
    let refused = second.recover().await.unwrap_err();
    let message = refused.to_string();
    assert!(
        message.contains("another engine drives the executions in this file"),
        "{message}"
    );
    assert!(matches!(
        second.start::<Journey>("other", 2).await,
        Err(workflow::EngineError::Store(
            workflow::store::StoreError::Locked(_)
        ))
    ));
    // Reading the file is not driving it.
    assert_eq!(second.describe(&id).await.unwrap().unwrap().name, "trip");

    // The first engine goes on untouched.
    assert_eq!(handle.await, Ok(20));

    // Once it stops, the file is free, as after a crash.
    first.shutdown(Duration::from_secs(1)).await.unwrap();
    let third = setup.engine();
    third.recover().await.unwrap();
    assert_eq!(
        third.start::<Journey>("other", 2).await.unwrap().await,
        Ok(30)
    );
}

/// Where a claim stops when armed: it signals `entered` and waits for `go`
/// on the thread that called it, as a claim of the timer loop is under way
/// on another thread.
struct Gates {
    armed: AtomicBool,
    entered: Barrier,
    go: Barrier,
}

struct HeldClaims {
    inner: SqliteStore,
    gates: Arc<Gates>,
}

impl Store for HeldClaims {
    fn claim(&self, claim: Claim) -> StoreFuture<'_, Claimed> {
        if self.gates.armed.swap(false, Ordering::SeqCst) {
            self.gates.entered.wait();
            self.gates.go.wait();
        }
        self.inner.claim(claim)
    }
    forward_store!(inner:
        create, commit, commit_children, children, release, renew_leases, next_wake,
        execution_named, execution, history, list, purge, complete_callback,
        wake_callback, callback,
        await_callback, pending_callbacks, save_definition, definitions, wake_up, is_shared,
        engine_started, engine_stopped
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_under_way_when_the_engine_halts_does_not_lock_the_file_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workflows.db");
    let gates = Arc::new(Gates {
        armed: AtomicBool::new(false),
        entered: Barrier::new(2),
        go: Barrier::new(2),
    });
    let first = Engine::builder(Ctx2::default())
        .store(HeldClaims {
            inner: SqliteStore::open(&path).unwrap(),
            gates: Arc::clone(&gates),
        })
        .poll_interval(Duration::from_millis(10))
        .build();
    first.register::<Journey>();
    // The timer loop runs and claims at every poll.
    first.recover().await.unwrap();
    gates.armed.store(true, Ordering::SeqCst);
    let wait = |barrier: fn(&Gates) -> &Barrier| {
        let gates = Arc::clone(&gates);
        tokio::task::spawn_blocking(move || {
            barrier(&gates).wait();
        })
    };
    wait(|g| &g.entered).await.unwrap();
    // The loop's claim has begun on a worker thread; the engine halts and
    // frees the file; then the claim goes on.
    first.halt();
    wait(|g| &g.go).await.unwrap();

    // The file stays free for the next engine.
    let second = Engine::builder(Ctx2::default())
        .store(SqliteStore::open(&path).unwrap())
        .build();
    second.register::<Journey>();
    let started = second.start::<Journey>("after", 1).await;
    assert!(started.is_ok(), "{:?}", started.err());
    second.halt();
}
