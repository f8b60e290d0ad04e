//! Many workers on one PostgreSQL schema: each engine here stands for a
//! process (its own store, its own connections, its own owner name), all
//! on one paused clock. A client starts executions that workers run; a
//! worker cut off from renewing its leases loses its execution to another
//! and its late write is refused; a worker keeps to its limit; a cancel
//! from a client ends an execution that a worker is running.

#[path = "../workflow-postgres/tests/support/mod.rs"]
mod postgres_support;

#[macro_use]
#[path = "support/forward_store.rs"]
mod forward_store;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use workflow::postgres::PostgresStore;
use workflow::prelude::*;
use workflow::store::{
    Claim, Claimed, Store, StoreError, StoreFuture, StoredExecution, Transition,
};
use workflow::{Clock, EngineBuilder, EngineError, Event, EventKind, PendingFilter};

#[path = "workers_postgres/stores.rs"]
mod stores;
#[path = "workers_postgres/workflows.rs"]
mod workflows;

use stores::{Partitioned, Racing};
use workflows::*;

/// One process's view of a shared schema.
struct Cluster {
    url: String,
    schema: String,
    clock: Clock,
    lab: Shared,
}

impl Cluster {
    fn new() -> Option<Cluster> {
        Some(Cluster {
            url: postgres_support::url()?,
            schema: postgres_support::fresh_schema(),
            clock: Clock::new(),
            lab: Shared::default(),
        })
    }

    fn store(&self) -> PostgresStore {
        PostgresStore::builder(self.url.clone())
            .schema(self.schema.clone())
            .pool_size(2)
            .connect_blocking()
            .expect("the test database")
    }

    fn builder(&self, store: impl Store) -> EngineBuilder<Shared> {
        Engine::builder(self.lab.clone())
            .store(store)
            .clock(self.clock)
    }

    /// A worker, claiming from now on.
    async fn worker(&self, builder: EngineBuilder<Shared>) -> Engine<Shared> {
        let engine = builder.build();
        engine
            .register::<Job>()
            .register::<Approval>()
            .register::<Relay>();
        engine.recover().await.expect("a worker starts claiming");
        engine
    }

    fn client(&self) -> Engine<Shared> {
        let engine = self.builder(self.store()).client_only().build();
        engine
            .register::<Job>()
            .register::<Approval>()
            .register::<Relay>();
        engine
    }
}

/// Every history is whole: ids one by one, one start, one end, last.
fn assert_gapless(history: &[Event]) {
    for (i, event) in history.iter().enumerate() {
        assert_eq!(
            (event.id, event.previous_event_id),
            (i as u64 + 1, i as u64),
            "{history:#?}"
        );
    }
    let starts = history
        .iter()
        .filter(|e| e.kind == EventKind::ExecutionStarted)
        .count();
    assert_eq!(starts, 1, "{history:#?}");
    assert!(
        history
            .last()
            .is_some_and(|e| e.kind.name().starts_with("Execution"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_starts_executions_that_workers_run() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let workers = [
        cluster.worker(cluster.builder(cluster.store())).await,
        cluster.worker(cluster.builder(cluster.store())).await,
    ];
    let client = cluster.client();
    assert_eq!(client.recover().await, Err(EngineError::ClientOnly));
    let mut handles = Vec::new();
    for n in 0..20 {
        handles.push(client.start::<Job>(format!("job-{n}"), n).await.unwrap());
    }
    // The client drives nothing; the workers took every one.
    assert_eq!(client.active_tasks(), 0);
    for (n, handle) in handles.into_iter().enumerate() {
        let id = handle.id().to_owned();
        assert_eq!(handle.await, Ok(expected(n as u64)));
        assert_gapless(&client.history(&id).await.unwrap());
    }
    let keys: BTreeSet<String> = cluster
        .lab
        .effects
        .lock()
        .unwrap()
        .iter()
        .cloned()
        .collect();
    assert_eq!(keys.len(), 20, "each effect ran once");
    assert_eq!(cluster.lab.effects.lock().unwrap().len(), 20);
    drop(workers);
}

#[tokio::test(start_paused = true)]
async fn a_worker_cut_off_past_its_lease_loses_the_execution_and_its_late_write_is_refused() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let (cut, fenced) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let stalled = cluster
        .worker(
            cluster
                .builder(Partitioned {
                    inner: cluster.store(),
                    cut: Arc::clone(&cut),
                    claims_too: true,
                    fenced: Arc::clone(&fenced),
                })
                .lease(Duration::from_secs(30)),
        )
        .await;
    // The first run of the effect holds until the gate opens.
    cluster.lab.hold.store(true, Ordering::SeqCst);
    let first = stalled.start::<Job>("stalls", 5).await.unwrap();
    let id = first.id().to_owned();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(cluster.lab.running.load(Ordering::SeqCst), 1);
    // It is cut off from the database from now on; another worker joins.
    cut.store(true, Ordering::SeqCst);
    cluster.lab.hold.store(false, Ordering::SeqCst);
    let rescuer = cluster.worker(cluster.builder(cluster.store())).await;
    // Within the lease nothing moves; once it expires, the other worker
    // takes the execution over and runs the effect again, with the same
    // idempotency key.
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(
        rescuer.active_tasks(),
        0,
        "taken over before the lease expired"
    );
    tokio::time::sleep(Duration::from_secs(20)).await;
    let taken = rescuer.describe(&id).await.unwrap().unwrap();
    assert_eq!(taken.state, "Rest", "the rescuer ran the effect and waits");
    // The partition heals and the stalled worker's step returns: its write
    // is refused, and nothing of it lands.
    let before = rescuer.history(&id).await.unwrap();
    cut.store(false, Ordering::SeqCst);
    cluster.lab.gate.notify_waiters();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(
        fenced.load(Ordering::SeqCst),
        1,
        "the late write was refused"
    );
    assert_eq!(rescuer.history(&id).await.unwrap(), before);
    // Both handles resolve with the outcome the rescuer reached: the
    // stalled worker's through the store.
    assert_eq!(first.await, Ok(expected(5)));
    assert_eq!(rescuer.handle::<Job>(id.clone()).await, Ok(expected(5)));
    let history = rescuer.history(&id).await.unwrap();
    assert_gapless(&history);
    let effects = cluster.lab.effects.lock().unwrap().clone();
    let kinds: Vec<_> = history
        .iter()
        .map(|e| (e.kind.name(), e.state.clone()))
        .collect();
    assert_eq!(
        effects.len(),
        2,
        "the effect ran in both workers: {effects:?} {kinds:?} running {}",
        cluster.lab.running.load(Ordering::SeqCst)
    );
    assert_eq!(effects[0], effects[1], "with one idempotency key");
}

#[tokio::test(start_paused = true)]
async fn a_worker_that_takes_its_own_expired_execution_back_stops_the_stale_run() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let (cut, fenced) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
    );
    let worker = cluster
        .worker(
            cluster
                .builder(Partitioned {
                    inner: cluster.store(),
                    cut: Arc::clone(&cut),
                    claims_too: false,
                    fenced: Arc::clone(&fenced),
                })
                .lease(Duration::from_secs(30)),
        )
        .await;
    cluster.lab.hold.store(true, Ordering::SeqCst);
    let handle = worker.start::<Job>("retaken", 3).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Its renewals fail, so its lease expires under its running step, and
    // its own timer loop claims the execution again: the run it started
    // first must stop, not race the new one.
    cut.store(true, Ordering::SeqCst);
    cluster.lab.hold.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(40)).await;
    assert_eq!(
        cluster.lab.running.load(Ordering::SeqCst),
        1,
        "the stale run is stopped mid-step"
    );
    cluster.lab.gate.notify_waiters();
    cut.store(false, Ordering::SeqCst);
    assert_eq!(handle.await, Ok(expected(3)));
    assert_eq!(
        fenced.load(Ordering::SeqCst),
        0,
        "the stale run wrote nothing"
    );
    assert_eq!(cluster.lab.effects.lock().unwrap().len(), 1);
    assert_gapless(
        &worker
            .history(&id_of(&worker, "retaken").await)
            .await
            .unwrap(),
    );
}

async fn id_of(engine: &Engine<Shared>, name: &str) -> String {
    let all = engine.list(None, None).await.unwrap();
    all.into_iter()
        .find(|d| d.name == name)
        .map(|d| d.id)
        .expect("the execution")
}

#[tokio::test(start_paused = true)]
async fn a_worker_keeps_to_its_limit_and_the_rest_wait_in_the_store() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let worker = cluster
        .worker(cluster.builder(cluster.store()).max_executions(2))
        .await;
    let client = cluster.client();
    let mut handles = Vec::new();
    for n in 0..8 {
        handles.push(client.start::<Job>(format!("job-{n}"), n).await.unwrap());
    }
    for (n, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.await, Ok(expected(n as u64)));
    }
    assert_eq!(cluster.lab.most_at_once.load(Ordering::SeqCst), 2);
    assert_eq!(cluster.lab.effects.lock().unwrap().len(), 8);
    assert!(worker.active_tasks() <= 2);
}

#[tokio::test(start_paused = true)]
async fn a_client_cancels_an_execution_a_worker_is_running() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let worker = cluster.worker(cluster.builder(cluster.store())).await;
    let client = cluster.client();
    cluster.lab.hold.store(true, Ordering::SeqCst);
    let handle = client.start::<Job>("cancelled", 1).await.unwrap();
    let id = handle.id().to_owned();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(worker.active_tasks(), 1, "the worker runs it");
    handle.cancel().await.unwrap();
    let ended = client.history(&id).await.unwrap();
    // The worker's step returns: its write is refused, as the execution
    // ended, and the history stays as the cancel left it.
    cluster.lab.gate.notify_waiters();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(worker.active_tasks(), 0);
    assert_eq!(client.history(&id).await.unwrap(), ended);
    assert_eq!(
        ended.last().map(|e| e.kind),
        Some(EventKind::ExecutionAborted)
    );
    assert_gapless(&ended);
    assert_eq!(handle.await, Err(ExecutionError::Aborted));
    assert_eq!(worker.handle::<Job>(id).await, Err(ExecutionError::Aborted));
}

#[tokio::test(start_paused = true)]
async fn a_cancel_that_races_the_workers_next_step_reads_again_and_ends_the_execution() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let worker = cluster.worker(cluster.builder(cluster.store())).await;
    let racing = Arc::new(Racing {
        inner: cluster.store(),
        lab: cluster.lab.clone(),
        armed: AtomicBool::new(false),
    });
    let client = cluster.builder(Arc::clone(&racing)).client_only().build();
    client.register::<Job>();
    cluster.lab.hold.store(true, Ordering::SeqCst);
    let handle = client.start::<Job>("raced", 1).await.unwrap();
    let id = handle.id().to_owned();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(worker.active_tasks(), 1, "the worker runs it");

    // The cancel reads the execution in its task, then the task's success
    // lands before the cancel's write: the write follows a stale end of
    // the history and is refused; the cancel reads again and ends it.
    racing.armed.store(true, Ordering::SeqCst);
    assert_eq!(handle.cancel().await, Ok(()));
    let history = client.history(&id).await.unwrap();
    assert_gapless(&history);
    let kinds: Vec<EventKind> = history.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::TaskSucceeded), "{kinds:?}");
    assert_eq!(
        kinds.last(),
        Some(&EventKind::ExecutionAborted),
        "{kinds:?}"
    );
    assert_eq!(handle.await, Err(ExecutionError::Aborted));
    assert_eq!(cluster.lab.effects.lock().unwrap().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_client_answers_a_callback_that_a_task_on_a_worker_waits_for() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let worker = cluster.worker(cluster.builder(cluster.store())).await;
    let client = cluster.client();
    let handle = client.start::<Approval>("approve", 1).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The task waits parked in the database: no worker holds it.
    assert_eq!(worker.active_tasks(), 0, "parked");
    let stored = client
        .store()
        .execution(handle.id())
        .await
        .unwrap()
        .unwrap();
    assert!(stored.checkpoint.callback.is_some(), "{stored:?}");
    let token = cluster.lab.tokens.lock().unwrap()[0].clone();
    // The client's answer wakes it on the worker.
    client.complete_task(&token, 41u64).await.unwrap();
    assert_eq!(
        client.complete_task(&token, 7u64).await,
        Err(EngineError::AlreadyAnswered(token.clone()))
    );
    assert_eq!(handle.await, Ok(42));
}

#[tokio::test(start_paused = true)]
async fn a_client_lists_what_tasks_on_workers_wait_for_and_a_token_outlives_its_worker() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let first = cluster.worker(cluster.builder(cluster.store())).await;
    let client = cluster.client();
    let handle = client.start::<Approval>("approve", 1).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let token = cluster.lab.tokens.lock().unwrap()[0].clone();
    let pending = client
        .pending_callbacks(PendingFilter::new())
        .await
        .unwrap();
    let listed: Vec<_> = pending
        .callbacks
        .iter()
        .map(|p| {
            let p = p.clone();
            (
                p.token,
                p.execution_id,
                p.execution_name,
                p.workflow,
                p.state,
            )
        })
        .collect();
    assert_eq!(
        listed,
        [(
            token.clone(),
            handle.id().to_owned(),
            "approve".to_owned(),
            "Approval".to_owned(),
            "Asking".to_owned()
        )]
    );

    // The worker dies; its task had parked, so nothing is lost with it and
    // nothing runs again: the callback is listed as waiting since it
    // first did, and another worker runs the task when its answer comes.
    first.halt();
    let _second = cluster.worker(cluster.builder(cluster.store())).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        *cluster.lab.tokens.lock().unwrap(),
        std::slice::from_ref(&token)
    );
    let again = client
        .pending_callbacks(PendingFilter::new())
        .await
        .unwrap();
    assert_eq!(again.callbacks, pending.callbacks);

    client.complete_task(&token, 41u64).await.unwrap();
    assert_eq!(handle.await, Ok(42));
    assert_eq!(
        *cluster.lab.tokens.lock().unwrap(),
        [token.clone(), token.clone()],
        "run again with its answer"
    );
    let none = client
        .pending_callbacks(PendingFilter::new())
        .await
        .unwrap();
    assert!(none.callbacks.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_worker_that_shuts_down_hands_its_executions_over_at_once() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let leaving = cluster.worker(cluster.builder(cluster.store())).await;
    let staying = cluster.worker(cluster.builder(cluster.store())).await;
    let handle = leaving.start::<Relay>("handed-over", 4).await.unwrap();
    let id = handle.id().to_owned();
    let started = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The first step (1 s) finishes within the grace period; the execution
    // is let go at the checkpoint before the second.
    let report = leaving.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(report.cut_short, 0);
    assert_eq!(leaving.active_tasks(), 0);
    // The leaving engine's handle resolves at once: with the outcome if the
    // other worker already finished, else saying it shut down.
    let first = handle.await;
    assert!(
        matches!(first, Ok(9) | Err(ExecutionError::ShuttingDown)),
        "{first:?}"
    );
    // The other worker goes on from there at its next look (1 s), not when
    // the lease would have expired (30 s).
    assert_eq!(staying.handle::<Relay>(id.clone()).await, Ok(expected(4)));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        cluster.lab.effects.lock().unwrap().len(),
        1,
        "the effect ran once"
    );
    assert_gapless(&staying.history(&id).await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_step_cut_short_by_shutdown_is_run_again_by_another_worker_at_once() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let leaving = cluster.worker(cluster.builder(cluster.store())).await;
    let staying = cluster.worker(cluster.builder(cluster.store())).await;
    cluster.lab.hold.store(true, Ordering::SeqCst);
    let handle = leaving.start::<Relay>("cut-short", 4).await.unwrap();
    let id = handle.id().to_owned();
    let started = tokio::time::Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    cluster.lab.hold.store(false, Ordering::SeqCst);
    // The held step outlasts the grace period: it is cut short, and the
    // lease it held is given up, so the other worker runs it again at its
    // next look rather than when the lease would expire (30 s).
    let report = leaving.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(report.cut_short, 1);
    assert_eq!(handle.await, Err(ExecutionError::ShuttingDown));
    assert_eq!(staying.handle::<Relay>(id.clone()).await, Ok(expected(4)));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_gapless(&staying.history(&id).await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn workers_carry_on_when_their_connections_drop() {
    let Some(cluster) = Cluster::new() else {
        return;
    };
    let app = format!("dropped_{}", postgres_support::fresh_schema());
    let store = || {
        PostgresStore::builder(cluster.url.clone())
            .schema(cluster.schema.clone())
            .application_name(app.clone())
            .pool_size(2)
            .connect_blocking()
            .expect("the test database")
    };
    let _worker = cluster.worker(cluster.builder(store())).await;
    let client = {
        let engine = cluster.builder(store()).client_only().build();
        engine.register::<Job>();
        engine
    };
    // Every connection the worker and the client have (pool and listener)
    // is cut every 40 ms for a second, from another thread, so some are cut
    // in the middle of a write, while the executions run.
    let stop = Arc::new(AtomicBool::new(false));
    let cutter = {
        let (url, app, stop) = (cluster.url.clone(), app.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                let mut cut = 0;
                // Rounds, not until the end: on a loaded machine a new
                // connection may take longer to open than the gap between
                // two cuts.
                for _ in 0..25 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let rows = admin
                        .query(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                             WHERE application_name = $1",
                            &[&app],
                        )
                        .await
                        .unwrap();
                    cut += rows.len();
                    tokio::time::sleep(Duration::from_millis(40)).await;
                }
                cut
            })
        })
    };
    let mut handles = Vec::new();
    for n in 0..20 {
        handles.push(client.start::<Job>(format!("job-{n}"), n).await.unwrap());
    }
    for (n, handle) in handles.into_iter().enumerate() {
        let id = handle.id().to_owned();
        assert_eq!(handle.await, Ok(expected(n as u64)));
        assert_gapless(&client.history(&id).await.unwrap());
    }
    stop.store(true, Ordering::SeqCst);
    let cut = cutter.join().unwrap();
    assert!(cut > 0, "no connection was cut");
    let effects = cluster.lab.effects.lock().unwrap().clone();
    let keys: BTreeSet<&String> = effects.iter().collect();
    assert_eq!(
        (keys.len(), effects.len()),
        (20, 20),
        "each effect ran once"
    );
}
