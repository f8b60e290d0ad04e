//! Durable executions on a SQLite file: an engine is halted mid-flight (as
//! a crash would stop it: nothing more is written), a second engine on the
//! same file recovers, and everything finishes as if nothing happened.
//! Both engines share one clock, tokio's paused one, and the store is
//! opened as in production (`SqliteStore::open`): its writes keep virtual
//! time where the engine is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use workflow::prelude::*;
use workflow::store::{Claim, Claimed, SqliteStore, Store, StoreFuture};
use workflow::{Clock, Event, PendingFilter, RecoveryError, VersionPolicy};

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

#[tokio::test(start_paused = true)]
async fn a_restart_mid_wait_sleeps_only_what_is_left() {
    let setup = Setup::new();
    let started = Instant::now();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(600)).await;
    first.halt();

    let second = setup.engine();
    let recovery = second.recover().await.unwrap();
    assert_eq!(recovery.resumed, [id.as_str()]);
    assert_eq!(recovery.skipped, []);
    let output = second.handle::<Journey>(id.clone()).await.unwrap();
    assert_eq!(output, 20);
    // 1 h wait + 10 min task + 1 h backoff, as if nothing had happened.
    assert_eq!(started.elapsed(), Duration::from_secs(3600 + 600 + 3600));
    let history = second.history(&id).await.unwrap();
    assert_gapless(&history);
    assert_eq!(count(&history, EventKind::WaitStateEntered), 1);
    assert_eq!(count(&history, EventKind::WaitStateExited), 1);
    assert_eq!(count(&history, EventKind::ExecutionSucceeded), 1);
    // A timer coming due after a restart is no resumption mid-state.
    assert_eq!(count(&history, EventKind::ExecutionResumed), 0);
}

#[tokio::test(start_paused = true)]
async fn a_task_running_at_the_crash_runs_again_with_the_same_key() {
    let setup = Setup::new();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    // Past the wait, five minutes into the ten-minute task.
    tokio::time::sleep(Duration::from_secs(3600 + 300)).await;
    assert_eq!(setup.world.0.keys.lock().unwrap().len(), 1);
    first.halt();

    let second = setup.engine();
    second.recover().await.unwrap();
    assert_eq!(second.handle::<Journey>(id.clone()).await, Ok(20));
    let keys = setup.world.0.keys.lock().unwrap().clone();
    assert_eq!(
        keys.len(),
        2,
        "at least once: the interrupted attempt ran again"
    );
    assert_eq!(keys[0], keys[1], "with the same idempotency key");
    let history = second.history(&id).await.unwrap();
    assert_gapless(&history);
    assert_eq!(
        count(&history, EventKind::TaskStateEntered),
        2,
        "Work and Retry, once each"
    );
    assert_eq!(count(&history, EventKind::TaskStateExited), 2);
    // The restart is visible: the task's scheduling is recorded again,
    // after the event that says the execution was resumed.
    let kinds: Vec<EventKind> = history.iter().map(|e| e.kind).collect();
    let resumed = kinds
        .iter()
        .position(|&k| k == EventKind::ExecutionResumed)
        .expect("an ExecutionResumed event");
    assert_eq!(count(&history, EventKind::ExecutionResumed), 1);
    assert_eq!(
        kinds[resumed + 1..resumed + 3],
        [EventKind::TaskScheduled, EventKind::TaskStarted]
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_backoff_survives_a_restart_with_its_counters() {
    let setup = Setup::new();
    let started = Instant::now();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    // Wait (1 h) and task (10 min) done, flaky failed once: 20 min into
    // its 1 h backoff.
    tokio::time::sleep(Duration::from_secs(3600 + 600 + 1200)).await;
    let before = first.describe(&id).await.unwrap().unwrap();
    assert_eq!(before.state, "Retry");
    assert!(before.wake_at.is_some(), "the backoff is a stored deadline");
    first.halt();

    let second = setup.engine();
    second.recover().await.unwrap();
    assert_eq!(second.handle::<Journey>(id).await, Ok(20));
    assert_eq!(*setup.world.0.attempts.lock().unwrap(), [1, 2]);
    assert_eq!(started.elapsed(), Duration::from_secs(3600 + 600 + 3600));
}

#[tokio::test(start_paused = true)]
async fn a_start_after_a_restart_finds_the_existing_execution() {
    let setup = Setup::new();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    first.halt();
    let second = setup.engine();
    second.recover().await.unwrap();
    let again = second.start::<Journey>("trip", 1).await.unwrap();
    assert_eq!(again.id(), id);
    let conflict = second.start::<Journey>("trip", 2).await.err();
    assert!(matches!(
        conflict,
        Some(workflow::EngineError::NameConflict { .. })
    ));
    assert_eq!(again.await, Ok(20));
}

fn tamper(setup: &Setup, sql: &str) {
    let raw = rusqlite::Connection::open(&setup.path).unwrap();
    raw.execute(sql, []).unwrap();
}

#[tokio::test(start_paused = true)]
async fn another_version_is_parked_untouched_by_default() {
    let setup = Setup::new();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(60)).await;
    first.halt();
    tamper(&setup, "UPDATE executions SET version = 'older'");
    let second = setup.engine();
    let recovery = second.recover().await.unwrap();
    assert_eq!(recovery.resumed, Vec::<String>::new());
    assert!(matches!(
        &recovery.skipped[..],
        [RecoveryError::VersionMismatch { stored, .. }] if stored == "older"
    ));
    let parked = second.describe(&id).await.unwrap().unwrap();
    assert_eq!(
        (parked.status, parked.state.as_str()),
        (Status::Running, "Hold")
    );
    let history = second.history(&id).await.unwrap();
    assert_eq!(history.last().unwrap().kind, EventKind::WaitStateEntered);
}

#[tokio::test(start_paused = true)]
async fn another_version_can_be_failed_instead() {
    let setup = Setup::new();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(60)).await;
    first.halt();
    tamper(&setup, "UPDATE executions SET version = 'older'");
    let second = setup.engine_with(VersionPolicy::Fail);
    second.recover().await.unwrap();
    let failed = second.describe(&id).await.unwrap().unwrap();
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.error.unwrap().name, "States.VersionMismatch");
    let history = second.history(&id).await.unwrap();
    assert_gapless(&history);
    assert_eq!(history.last().unwrap().kind, EventKind::ExecutionFailed);
    let outcome = second.handle::<Journey>(id).await.unwrap_err();
    assert_eq!(outcome.failure().unwrap().error, "States.VersionMismatch");
}

#[tokio::test(start_paused = true)]
async fn unreadable_and_unregistered_executions_are_reported_and_the_rest_resume() {
    let setup = Setup::new();
    let first = setup.engine();
    let broken = first
        .start::<Journey>("broken", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    let alien = first
        .start::<Journey>("alien", 2)
        .await
        .unwrap()
        .id()
        .to_owned();
    let fine = first
        .start::<Journey>("fine", 3)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(60)).await;
    first.halt();
    tamper(
        &setup,
        &format!("UPDATE executions SET state = '{{\"Nowhere\":1}}' WHERE id = '{broken}'"),
    );
    tamper(
        &setup,
        &format!("UPDATE executions SET workflow = 'Alien' WHERE id = '{alien}'"),
    );
    let second = setup.engine();
    let recovery = second.recover().await.unwrap();
    assert_eq!(recovery.resumed, [fine.as_str()]);
    assert_eq!(recovery.skipped.len(), 2);
    assert!(
        recovery.skipped.iter().any(
            |p| matches!(p, RecoveryError::Unreadable { execution, .. } if *execution == broken)
        )
    );
    assert!(
        recovery.skipped.iter().any(
            |p| matches!(p, RecoveryError::Unregistered { workflow, .. } if workflow == "Alien")
        )
    );
    assert_eq!(second.handle::<Journey>(fine).await, Ok(40));
}

#[tokio::test(start_paused = true)]
async fn a_corrupt_row_is_reported_and_the_other_executions_recover_and_finish() {
    let setup = Setup::new();
    let first = setup.engine();
    let mut ids = Vec::new();
    for (name, input) in [("bad", 1), ("fine", 3)] {
        let handle = first.start::<Journey>(name, input).await.unwrap();
        ids.push(handle.id().to_owned());
    }
    let [bad, fine] = <[String; 2]>::try_from(ids).unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    first.halt();
    tamper(
        &setup,
        &format!("UPDATE executions SET retries = 'not json' WHERE id = '{bad}'"),
    );
    let second = setup.engine();
    let recovery = second.recover().await.unwrap();
    assert_eq!(recovery.resumed, [fine.as_str()]);
    assert!(
        matches!(
            &recovery.skipped[..],
            [RecoveryError::Unreadable { execution, detail }]
                if *execution == bad && detail.contains("retry counters")
        ),
        "{recovery:?}"
    );
    let listed = second.list(None, None).await.unwrap();
    assert_eq!(listed.iter().map(|d| &d.id).collect::<Vec<_>>(), [&fine]);
    let described = second.describe(&bad).await;
    assert!(
        matches!(
            &described,
            Err(workflow::EngineError::Store(workflow::store::StoreError::Corrupt {
                execution,
                what: "retry counters",
                ..
            })) if *execution == bad
        ),
        "{described:?}"
    );
    // Its history is intact, and still tells what it did.
    let history = second.history(&bad).await.unwrap();
    assert_gapless(&history);
    assert_eq!(history.last().unwrap().kind, EventKind::WaitStateEntered);
    assert_eq!(second.handle::<Journey>(fine).await, Ok(40));
}

// A callback completed while the process is down.
async fn await_approval(cx: Ctx<'_, Ctx2>, n: u64) -> Result<u64, Fault> {
    cx.0.keys.lock().unwrap().push(cx.callback_token());
    cx.callback::<u64>()
        .await
        .map(|bonus| n + bonus)
        .map_err(|_| Fault::Flaky)
}

#[workflow(context = Ctx2)]
#[derive(Serialize, Deserialize)]
pub enum Approval {
    #[start]
    #[task(await_approval, next = Done)]
    Waiting(u64),
    #[succeed]
    Done(u64),
}

#[tokio::test(start_paused = true)]
async fn a_callback_completed_while_the_process_is_down_is_found_after_recovery() {
    let setup = Setup::new();
    let first = setup.engine();
    first.register::<Approval>();
    let id = first
        .start::<Approval>("approve", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let token = setup.world.0.keys.lock().unwrap()[0].clone();
    first.halt();

    let second = setup.engine();
    second.register::<Approval>();
    // The answer comes in before the workflow is recovered.
    second.complete_task(&token, 41u64).await.unwrap();
    second.recover().await.unwrap();
    assert_eq!(second.handle::<Approval>(id).await, Ok(42));
    let keys = setup.world.0.keys.lock().unwrap().clone();
    assert_eq!(
        keys,
        [token.clone(), token],
        "the same token after the restart"
    );
}

#[tokio::test(start_paused = true)]
async fn a_token_handed_out_before_a_crash_answers_the_task_after_recovery() {
    let setup = Setup::new();
    let first = setup.engine();
    first.register::<Approval>();
    let handle = first.start::<Approval>("approve", 1).await.unwrap();
    let id = handle.id().to_owned();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let token = setup.world.0.keys.lock().unwrap()[0].clone();
    let before = first.pending_callbacks(PendingFilter::new()).await.unwrap();
    assert_eq!(before.callbacks.len(), 1);
    assert_eq!(before.callbacks[0].token, token);
    first.halt();

    let second = setup.engine();
    second.register::<Approval>();
    second.recover().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let keys = setup.world.0.keys.lock().unwrap().clone();
    assert_eq!(keys, [token.clone(), token.clone()], "the task ran again");
    let after = second
        .pending_callbacks(PendingFilter::new())
        .await
        .unwrap();
    assert_eq!(
        after.callbacks, before.callbacks,
        "the same token, waiting since"
    );
    second.complete_task(&token, 41u64).await.unwrap();
    assert_eq!(second.handle::<Approval>(id).await, Ok(42));
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;

#[macro_use]
#[path = "support/forward_store.rs"]
mod forward_store;
validate_exports!(Journey, Approval);

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
        execution_named, execution, history, list, purge, complete_callback, callback,
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

async fn inflate(_cx: Ctx<'_, Ctx2>, n: u64) -> Result<String, Fault> {
    Ok(n.to_string().repeat(32 * 1024))
}

// A wait's delay function takes a reference to the state's data, a String here.
#[allow(clippy::ptr_arg)]
fn measure(text: &String) -> Duration {
    Duration::from_secs(text.len() as u64 / 1024)
}

#[workflow(context = Ctx2)]
#[derive(Serialize, Deserialize)]
pub enum Bulky {
    #[start]
    #[task(inflate, next = Cool)]
    Grow(u64),
    #[wait(delay = measure, next = Done)]
    Cool(String),
    #[succeed]
    Done(String),
}

#[tokio::test(start_paused = true)]
async fn a_full_disk_fails_the_handle_with_a_typed_error_and_the_execution_resumes_when_there_is_room()
 {
    let setup = Setup::new();
    let store = Arc::new(SqliteStore::open(&setup.path).unwrap());
    let engine = Engine::builder(setup.world.clone())
        .store(Arc::clone(&store))
        .clock(setup.clock)
        .build();
    engine.register::<Bulky>();
    // Room for the start, not for the task's 32 KiB output.
    store.set_max_size(96 * 1024).await.unwrap();
    let handle = engine.start::<Bulky>("bulky", 7).await.unwrap();
    let id = handle.id().to_owned();
    assert!(
        matches!(
            handle.await,
            Err(ExecutionError::Store(workflow::store::StoreError::Full(_)))
        ),
        "the handle says why"
    );
    let stopped = engine.describe(&id).await.unwrap().unwrap();
    assert_eq!(
        (stopped.status, stopped.state.as_str()),
        (Status::Running, "Grow")
    );

    // Room again: the engine takes the execution up by itself, from its
    // last checkpoint, at its next look for due work.
    store.set_max_size(64 * 1024 * 1024).await.unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(3600),
        engine.handle::<Bulky>(id.clone()),
    )
    .await
    .expect("resumed within the hour")
    .unwrap();
    assert_eq!(output, "7".repeat(32 * 1024));
    let history = engine.history(&id).await.unwrap();
    assert_gapless(&history);
    assert_eq!(count(&history, EventKind::TaskStateEntered), 1);
    assert_eq!(count(&history, EventKind::ExecutionSucceeded), 1);
}
