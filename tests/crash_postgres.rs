//! The many-machines crash test. This process is the client: it starts
//! 2,000 executions of a workflow with a retried task, a wait, a callback
//! and a parallel state, and answers the callbacks. Four worker processes
//! (this test binary, run as workers) run them against one PostgreSQL
//! schema. Meanwhile workers die by SIGKILL at random moments (ten times,
//! each restarted), one is stopped with SIGSTOP for longer than its lease
//! and then continued, and the database server restarts once. In the end
//! every execution succeeded with the right output, every history is
//! gapless with each state entered once, every side effect (deduplicated by
//! its idempotency key) happened, and no write of the stopped worker landed
//! after its executions were taken over: its refused writes and lost
//! leases are counted and shown.

#[path = "../workflow-postgres/tests/support/mod.rs"]
mod postgres_support;

#[macro_use]
#[path = "support/forward_store.rs"]
mod forward_store;

use std::collections::BTreeSet;
use std::process::{Child, Command};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::SystemTime;
use workflow::postgres::PostgresStore;
use workflow::prelude::*;

use workflow::store::{ChildTransition, Filter, Store, StoreError, StoreFuture, Transition};

const EXECUTIONS: u64 = 2000;
const WORKERS: usize = 4;
const KILLS: usize = 10;
/// Short, so that takeovers happen within the test.
const LEASE: Duration = Duration::from_secs(2);
const WORKER: &str = "WORKFLOW_PG_CRASH_WORKER";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Fault {
    #[error("flaky")]
    Flaky,
    #[error("the effects table is out of reach")]
    Unreachable,
}

/// Where tasks leave their side effects and callback tokens: tables of
/// the test's schema, one row per idempotency key counting how often it
/// was applied.
pub struct Effects {
    url: String,
    schema: String,
    client: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
}

impl Effects {
    fn new(url: String, schema: String) -> Effects {
        Effects {
            url,
            schema,
            client: tokio::sync::Mutex::new(None),
        }
    }

    /// Runs one statement, reconnecting (the server may be restarting).
    async fn execute(&self, sql: &str, key: &str) -> Result<(), Fault> {
        for attempt in 0..100u64 {
            let mut client = self.client.lock().await;
            if client
                .as_ref()
                .is_none_or(tokio_postgres::Client::is_closed)
            {
                match tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await {
                    Ok((fresh, connection)) => {
                        tokio::spawn(connection);
                        *client = Some(fresh);
                    }
                    Err(_) => {
                        drop(client);
                        tokio::time::sleep(Duration::from_millis(20 * attempt.min(10))).await;
                        continue;
                    }
                }
            }
            let sql = sql.replace("{schema}", &self.schema);
            if let Some(connected) = client.as_ref()
                && connected.execute(&sql, &[&key]).await.is_ok()
            {
                return Ok(());
            }
            *client = None;
        }
        Err(Fault::Unreachable)
    }

    async fn apply(&self, key: String) -> Result<(), Fault> {
        self.execute(
            "INSERT INTO \"{schema}\".effects (key, applied) VALUES ($1, 1) \
             ON CONFLICT (key) DO UPDATE SET applied = effects.applied + 1",
            &key,
        )
        .await
    }
}

async fn charge(cx: Ctx<'_, Effects>, n: u64) -> Result<u64, Fault> {
    // Every third order's first attempt fails and is retried.
    if n.is_multiple_of(3) && cx.attempt() == 1 {
        return Err(Fault::Flaky);
    }
    cx.apply(cx.idempotency_key().to_string()).await?;
    Ok(n)
}

async fn approve(cx: Ctx<'_, Effects>, n: u64) -> Result<u64, Fault> {
    // The execution's id beside the token: the token itself tells nothing.
    let entry = format!("{} {}", cx.execution_id(), cx.callback_token());
    cx.execute(
        "INSERT INTO \"{schema}\".tokens (token) VALUES ($1) ON CONFLICT DO NOTHING",
        &entry,
    )
    .await?;
    let bonus: u64 = cx.callback().await.map_err(|_| Fault::Flaky)?;
    Ok(n + bonus)
}

async fn mail(cx: Ctx<'_, Effects>, n: u64) -> Result<u64, Fault> {
    cx.apply(cx.idempotency_key().to_string()).await?;
    Ok(n * 2)
}

async fn ship(cx: Ctx<'_, Effects>, n: u64) -> Result<u64, Fault> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    cx.apply(cx.idempotency_key().to_string()).await?;
    Ok(n * 3)
}

#[workflow(context = Effects)]
#[derive(Serialize, Deserialize)]
pub enum Job {
    #[start]
    #[task(charge, next = Hold)]
    #[retry(on = [Fault::Flaky], max_attempts = 3, interval = "20ms")]
    Charge(u64),
    #[wait(duration = "100ms", next = Approve)]
    Hold(u64),
    #[task(approve, next = Notify)]
    Approve(u64),
    #[parallel(branches = [Mail, Ship], next = Done)]
    Notify(u64),
    #[succeed]
    Done((u64, u64)),
}

#[workflow(context = Effects)]
pub enum Mail {
    #[start]
    #[task(mail, next = Sent)]
    Send(u64),
    #[succeed]
    Sent(u64),
}

#[workflow(context = Effects)]
pub enum Ship {
    #[start]
    #[task(ship, next = Shipped)]
    Pack(u64),
    #[succeed]
    Shipped(u64),
}

/// The bonus the approver sends for order `n`.
fn bonus(n: u64) -> u64 {
    n % 7
}

fn store(url: &str, schema: &str) -> workflow::postgres::PostgresStoreBuilder {
    PostgresStore::builder(url.to_owned())
        .schema(schema.to_owned())
        .pool_size(4)
}

/// A worker's store: records, with the worker's process id, every write
/// the store refused because the execution was taken over (or ended), and
/// every lease a renewal found lost, to show what a worker stopped past its
/// lease tried when it continued.
struct Watched {
    inner: PostgresStore,
    log: Arc<Effects>,
}

impl Watched {
    fn record(&self, what: &'static str, execution: String) {
        let log = Arc::clone(&self.log);
        tokio::spawn(async move {
            let entry = format!("{}/{what}/{execution}", std::process::id());
            let _ = log
                .execute(
                    "INSERT INTO \"{schema}\".refused (entry) VALUES ($1)",
                    &entry,
                )
                .await;
        });
    }

    fn refused<'a, T: Send + 'static>(
        &'a self,
        execution: String,
        written: StoreFuture<'a, T>,
    ) -> StoreFuture<'a, T> {
        Box::pin(async move {
            let result = written.await;
            if let Err(StoreError::Fenced { .. } | StoreError::Ended(_)) = &result {
                self.record("refused", execution);
            }
            result
        })
    }
}

impl Store for Watched {
    fn commit(&self, t: Transition) -> StoreFuture<'_, ()> {
        let execution = t.execution.clone();
        self.refused(execution, self.inner.commit(t))
    }
    fn commit_children(&self, t: ChildTransition) -> StoreFuture<'_, ()> {
        let execution = t.execution.clone();
        self.refused(execution, self.inner.commit_children(t))
    }
    fn release(&self, id: &str, fence: u64) -> StoreFuture<'_, ()> {
        self.refused(id.to_owned(), self.inner.release(id, fence))
    }
    fn renew_leases(
        &self,
        held: Vec<(String, u64)>,
        until: SystemTime,
    ) -> StoreFuture<'_, Vec<String>> {
        Box::pin(async move {
            let lost = self.inner.renew_leases(held, until).await?;
            for execution in &lost {
                self.record("lost", execution.clone());
            }
            Ok(lost)
        })
    }
    fn is_shared(&self) -> bool {
        true
    }
    // Everything else goes to the store inside.
    forward_store!(inner:
        create, children, claim, next_wake, execution_named, execution, history, list,
        purge, complete_callback,
        wake_callback, callback, await_callback, pending_callbacks,
        save_definition, definitions, wake_up
    );
}

/// A worker: claims and runs executions until it is killed.
#[test]
fn pg_crash_worker() {
    let Ok(schema) = std::env::var(WORKER) else {
        return; // Only runs when the parent starts it.
    };
    let url = std::env::var("WORKFLOW_TEST_POSTGRES").expect("the database");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Watched {
            inner: store(&url, &schema).connect().await.unwrap(),
            log: Arc::new(Effects::new(url.clone(), schema.clone())),
        };
        let engine = Engine::builder(Effects::new(url.clone(), schema.clone()))
            .store(store)
            .lease(LEASE)
            .poll_interval(Duration::from_millis(200))
            .build();
        engine.register::<Job>();
        engine.recover().await.unwrap();
        std::future::pending::<()>().await;
    });
}

fn spawn_worker(schema: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "pg_crash_worker",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(WORKER, schema)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// The worker processes, killed however the test ends (a failed assertion
/// must not leave them running).
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for worker in &mut self.0 {
            let _ = worker.kill();
            let _ = worker.wait();
        }
    }
}

fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal}");
}

/// Restarts the test cluster (`scripts/postgres restart`), if the script
/// started it.
fn restart_database() {
    let state = concat!(env!("CARGO_MANIFEST_DIR"), "/target/postgres/state");
    if !std::path::Path::new(state).exists() {
        eprintln!("not restarting the database: scripts/postgres did not start it");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/postgres");
    let status = Command::new(script).arg("restart").status().unwrap();
    assert!(status.success(), "the database restarts");
}

#[test]
fn workers_killed_stopped_and_a_database_restart_lose_nothing() {
    if std::env::var(WORKER).is_ok() {
        return;
    }
    let Some(url) = postgres_support::url() else {
        return;
    };
    let schema = postgres_support::fresh_schema();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let client = runtime.block_on(async {
        let store = store(&url, &schema).connect().await.unwrap();
        let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        admin
            .batch_execute(&format!(
                "CREATE TABLE \"{schema}\".effects (key text PRIMARY KEY, applied integer NOT NULL);
                 CREATE TABLE \"{schema}\".tokens (token text PRIMARY KEY, answered boolean NOT NULL DEFAULT false);
                 CREATE TABLE \"{schema}\".refused (entry text NOT NULL);"
            ))
            .await
            .unwrap();
        let client = Engine::builder(Effects::new(url.clone(), schema.clone()))
            .store(store)
            .poll_interval(Duration::from_millis(200))
            .client_only()
            .build();
        client.register::<Job>();
        client
    });
    let handles = runtime.block_on(async {
        let mut handles = Vec::new();
        for n in 0..EXECUTIONS {
            handles.push(client.start::<Job>(format!("job-{n}"), n).await.unwrap());
        }
        handles
    });
    // The approver: answers every token a task hands out (again after a
    // restart of the task, when the same token comes back).
    let approver = {
        let (client, url, schema) = (client.clone(), url.clone(), schema.clone());
        runtime.spawn(async move {
            loop {
                let Ok((db, connection)) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                tokio::spawn(connection);
                loop {
                    let Ok(rows) = db
                        .query(
                            &format!("SELECT token FROM \"{schema}\".tokens WHERE NOT answered"),
                            &[],
                        )
                        .await
                    else {
                        break;
                    };
                    for row in rows {
                        let entry: String = row.get(0);
                        let (execution, token) = entry.split_once(' ').unwrap_or_default();
                        let Ok(Some(described)) = client.describe(execution).await else {
                            continue;
                        };
                        let n: u64 = described.name.trim_start_matches("job-").parse().unwrap();
                        if client.complete_task(token, bonus(n)).await.is_ok() {
                            let _ = db
                                .execute(
                                    &format!(
                                        "UPDATE \"{schema}\".tokens SET answered = true \
                                         WHERE token = $1"
                                    ),
                                    &[&entry],
                                )
                                .await;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        })
    };

    // The crash schedule: random moments, from a fixed seed.
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut workers = Workers((0..WORKERS).map(|_| spawn_worker(&schema)).collect());
    let mut stopped = None;
    for round in 0..KILLS {
        std::thread::sleep(Duration::from_millis(rng.u64(200..600)));
        // The stopped worker is spared afterwards, so that what it does
        // when it continues is seen.
        let victim = match stopped {
            Some(stopped) => (stopped + 1 + rng.usize(..WORKERS - 1)) % WORKERS,
            None => rng.usize(..WORKERS),
        };
        workers.0[victim].kill().unwrap(); // SIGKILL
        workers.0[victim].wait().unwrap();
        workers.0[victim] = spawn_worker(&schema);
        if round == 3 {
            // Stopped past its lease (not the one just started, which may
            // hold nothing yet): the others take its executions over.
            let index = (victim + 1) % WORKERS;
            stopped = Some(index);
            signal(&workers.0[index], "-STOP");
            std::thread::sleep(LEASE * 3);
            signal(&workers.0[index], "-CONT");
        }
        if round == 6 {
            restart_database();
        }
    }

    let stopped_pid = stopped.map_or(0, |index: usize| workers.0[index].id());
    let outcomes = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(300), async {
            let mut outcomes = Vec::new();
            for handle in handles {
                outcomes.push(handle.await);
            }
            outcomes
        })
        .await
    });
    let Ok(outcomes) = outcomes else {
        // Say where the executions that did not end stand.
        let running = runtime.block_on(client.list(None, Some(Status::Running)));
        let mut states = std::collections::BTreeMap::<String, usize>::new();
        for described in running.unwrap_or_default() {
            *states.entry(described.state).or_default() += 1;
        }
        panic!("executions still running after five minutes, by state: {states:?}");
    };
    approver.abort();
    drop(workers);
    for (n, outcome) in outcomes.into_iter().enumerate() {
        let n = n as u64;
        let charged = n + bonus(n);
        assert_eq!(outcome, Ok((charged * 2, charged * 3)), "job-{n}");
    }
    runtime.block_on(check(&client, &url, &schema, stopped_pid));
}

async fn check(client: &Engine<Effects>, url: &str, schema: &str, stopped_pid: u32) {
    let store = client.store();
    let executions = store.list(Filter::default()).await.unwrap();
    assert_eq!(
        executions.len() as u64,
        EXECUTIONS,
        "no execution lost or doubled"
    );
    let mut expected_keys = BTreeSet::new();
    for execution in &executions {
        assert_eq!(
            execution.checkpoint.status,
            Status::Succeeded,
            "{}",
            execution.name
        );
        let history = store.history(&execution.id).await.unwrap();
        for (i, event) in history.iter().enumerate() {
            assert_eq!(event.id, i as u64 + 1, "gapless: {}", execution.name);
            assert_eq!(event.previous_event_id, i as u64);
        }
        let entered = |state: &str| {
            history
                .iter()
                .filter(|e| e.kind.name().ends_with("StateEntered"))
                .filter(|e| e.state.as_deref() == Some(state))
                .count()
        };
        for state in ["Charge", "Hold", "Approve", "Notify", "Done"] {
            assert_eq!(entered(state), 1, "{} entered {state} once", execution.name);
        }
        let ends = history
            .iter()
            .filter(|e| e.kind == EventKind::ExecutionSucceeded)
            .count();
        assert_eq!(ends, 1);
        // Charge is entry 0, Hold 1, Approve 2, Notify 3 (its branches are
        // child executions with their own first task).
        let id = &execution.id;
        expected_keys.insert(format!("{id}/Charge/0"));
        expected_keys.insert(format!("{id}/Notify/3/0/Send/0"));
        expected_keys.insert(format!("{id}/Notify/3/1/Pack/0"));
    }
    let (db, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let rows = db
        .query(
            &format!("SELECT key, applied FROM \"{schema}\".effects"),
            &[],
        )
        .await
        .unwrap();
    let keys: BTreeSet<String> = rows.iter().map(|row| row.get(0)).collect();
    let reapplied = rows.iter().filter(|row| row.get::<_, i32>(1) > 1).count();
    eprintln!(
        "{} side effects, {reapplied} applied more than once (at least once after a kill)",
        keys.len()
    );
    assert_eq!(keys, expected_keys, "each side effect, by its key");

    // What the stopped worker tried after it was continued: every write it
    // made to an execution taken over meanwhile was refused, and every
    // lease it tried to renew was reported lost (and its run stopped).
    // Shown, not asserted: how many it held, and whether the others took
    // them before it woke, depends on the machine's load; that none of its
    // writes landed is what the checks above prove (and
    // tests/workers_postgres.rs shows the refusal itself on a paused
    // clock).
    let rows = db
        .query(&format!("SELECT entry FROM \"{schema}\".refused"), &[])
        .await
        .unwrap();
    let entries: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    let of_stopped = |what: &str| {
        entries
            .iter()
            .filter(|e| e.starts_with(&format!("{stopped_pid}/{what}/")))
            .count()
    };
    let (refused, lost) = (of_stopped("refused"), of_stopped("lost"));
    eprintln!(
        "the stopped worker: {refused} writes refused, {lost} leases found lost \
         (all workers: {} refused or lost)",
        entries.len()
    );
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;
validate_exports!(Job, Mail, Ship);
