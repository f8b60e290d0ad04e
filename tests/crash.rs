//! The crash test: a child process (this test binary, run as a worker)
//! drives 2,000 executions of a workflow with tasks, a wait, retries and a
//! parallel state against a SQLite file; the parent kills it with SIGKILL at
//! random moments, ten times, then lets one run finish. In the end every
//! execution has the right output, every history is gapless with each state
//! entered once, and every task's side effect, deduplicated by its
//! idempotency key, happened exactly once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::store::{Filter, SqliteStore, Store};

const EXECUTIONS: u64 = 2000;
const KILLS: usize = 10;
const WORKER: &str = "WORKFLOW_CRASH_WORKER";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Fault {
    #[error("flaky")]
    Flaky,
}

/// Where tasks leave their side effects: one row per idempotency key,
/// counting how often it was applied.
pub struct Effects(Mutex<rusqlite::Connection>);

impl Effects {
    fn open(path: &Path) -> Effects {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection.busy_timeout(Duration::from_secs(10)).unwrap();
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, applied INTEGER NOT NULL);",
            )
            .unwrap();
        Effects(Mutex::new(connection))
    }

    fn apply(&self, key: String) {
        self.0
            .lock()
            .unwrap()
            .execute(
                "INSERT INTO effects (key, applied) VALUES (?1, 1)
                 ON CONFLICT (key) DO UPDATE SET applied = applied + 1",
                [key],
            )
            .unwrap();
    }
}

async fn charge(cx: Ctx<'_, Effects>, n: u64) -> Result<u64, Fault> {
    // Every third order's first attempt fails and is retried.
    if n.is_multiple_of(3) && cx.attempt() == 1 {
        return Err(Fault::Flaky);
    }
    cx.apply(cx.idempotency_key().to_string());
    Ok(n)
}

async fn mail(cx: Ctx<'_, Effects>, n: u64) -> Result<u64, Fault> {
    cx.apply(cx.idempotency_key().to_string());
    Ok(n * 2)
}

async fn ship(cx: Ctx<'_, Effects>, n: u64) -> Result<u64, Fault> {
    tokio::time::sleep(Duration::from_millis(10)).await;
    cx.apply(cx.idempotency_key().to_string());
    Ok(n * 3)
}

#[workflow(context = Effects)]
#[derive(Serialize, Deserialize)]
pub enum Job {
    #[start]
    #[task(charge, next = Hold)]
    #[retry(on = [Fault::Flaky], max_attempts = 3, interval = "20ms")]
    Charge(u64),
    #[wait(duration = "50ms", next = Notify)]
    Hold(u64),
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

/// The worker: recover what is open, (re)start every execution (starting
/// is idempotent), and wait for all of them.
#[test]
fn crash_worker() {
    let Ok(dir) = std::env::var(WORKER) else {
        return; // Only runs when the parent starts it.
    };
    let dir = PathBuf::from(dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let engine = Engine::builder(Effects::open(&dir.join("effects.db")))
            .store(SqliteStore::open(dir.join("workflows.db")).unwrap())
            .build();
        engine.register::<Job>();
        engine.recover().await.unwrap();
        let mut handles = Vec::new();
        for n in 0..EXECUTIONS {
            handles.push(engine.start::<Job>(format!("job-{n}"), n).await.unwrap());
        }
        for handle in handles {
            handle.await.unwrap();
        }
    });
}

fn spawn_worker(dir: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["crash_worker", "--exact", "--nocapture", "--test-threads=1"])
        .env(WORKER, dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn ten_kill_nines_lose_nothing() {
    if std::env::var(WORKER).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    for _ in 0..KILLS {
        let mut child = spawn_worker(dir.path());
        // A random moment to die at: the crash schedule, not a wait for
        // anything to happen.
        std::thread::sleep(Duration::from_millis(rng.u64(50..400)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    }
    let before = progress(dir.path());
    let finished = spawn_worker(dir.path()).wait().unwrap();
    assert!(finished.success(), "the last run completes: {finished}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(check(dir.path()));
    let (started, succeeded, reapplied) = before;
    eprintln!(
        "before the last run: {started} started, {succeeded} succeeded; {reapplied} effects re-applied"
    );
    // The kills landed mid-work: some tasks' effects were applied and then
    // their commit was lost, so they ran again (with the same key).
    assert!(started > 0, "the killed runs made progress");
    assert!(reapplied > 0, "no kill interrupted a task");
}

/// Executions started and succeeded so far, and side effects applied more
/// than once (at-least-once after a kill).
fn progress(dir: &Path) -> (u64, u64, u64) {
    let count = |path: &Path, sql: &str| -> u64 {
        let connection = rusqlite::Connection::open(path).unwrap();
        let n: i64 = connection.query_row(sql, [], |row| row.get(0)).unwrap_or(0);
        n.unsigned_abs()
    };
    let workflows = dir.join("workflows.db");
    (
        count(&workflows, "SELECT COUNT(*) FROM executions"),
        count(
            &workflows,
            "SELECT COUNT(*) FROM executions WHERE status = 'Succeeded'",
        ),
        count(
            &dir.join("effects.db"),
            "SELECT COUNT(*) FROM effects WHERE applied > 1",
        ),
    )
}

async fn check(dir: &Path) {
    let store = SqliteStore::open(dir.join("workflows.db")).unwrap();
    let executions = store.list(Filter::default()).await.unwrap();
    assert_eq!(
        executions.len() as u64,
        EXECUTIONS,
        "no execution lost or doubled"
    );
    let mut expected_keys = BTreeSet::new();
    for execution in &executions {
        let n: u64 = serde_json::from_str(&execution.input).unwrap();
        assert_eq!(
            execution.checkpoint.status,
            Status::Succeeded,
            "{}",
            execution.name
        );
        let output: (u64, u64) =
            serde_json::from_str(execution.checkpoint.output.as_deref().unwrap()).unwrap();
        assert_eq!(output, (n * 2, n * 3), "{}", execution.name);

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
        for state in ["Charge", "Hold", "Notify", "Done"] {
            assert_eq!(entered(state), 1, "{} entered {state} once", execution.name);
        }
        let ends = history
            .iter()
            .filter(|e| e.kind == EventKind::ExecutionSucceeded)
            .count();
        assert_eq!(ends, 1);

        // Charge is the first state (entry 0), Notify the third (entry 2),
        // whose branches are child executions with their own first task.
        let id = &execution.id;
        expected_keys.insert(format!("{id}/Charge/0"));
        expected_keys.insert(format!("{id}/Notify/2/0/Send/0"));
        expected_keys.insert(format!("{id}/Notify/2/1/Pack/0"));
    }
    let effects = rusqlite::Connection::open(dir.join("effects.db")).unwrap();
    let keys: BTreeSet<String> = effects
        .prepare("SELECT key FROM effects")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(keys.len(), expected_keys.len());
    assert_eq!(
        keys, expected_keys,
        "each side effect exactly once, by its key"
    );
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;
validate_exports!(Job, Mail, Ship);
