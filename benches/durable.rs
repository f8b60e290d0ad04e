//! Engine throughput: 10,000 executions of a 10-state workflow whose tasks
//! do no work, history on, on a 2-worker multi-thread runtime — on the
//! in-memory store and with every transition committed to a SQLite file
//! (WAL, `synchronous = NORMAL`, group commit) — beside the SQLite file's
//! physical limit, in one run.
//!
//! The limit is a plain rusqlite loop, with none of the engine or the store
//! around it, that writes the rows `SqliteStore` writes for the same
//! executions (an `executions` row per start; per transition, its history
//! events and the UPDATE of that row), in the same schema, with the same
//! pragmas, in transactions of as many jobs as the store's group commit
//! takes on average. That average is measured before the benchmarks (a
//! calibration run with a reader pinning the WAL, whose commit frames are
//! then counted) and printed: about 470 of the 512 a transaction may take,
//! on a 2-core machine. The loop keys its rows by time-ordered ids (UUIDv7),
//! as the engine does, and like the store it leaves the status and wake-up
//! time out of the UPDATEs that do not change them. The store does more
//! per job than the loop: a savepoint, a point SELECT (fence and last event
//! id) and, for a start, a SELECT by name; and one read job per awaited
//! handle.
//!
//! Every benchmark reports transitions per second (10 per execution).
//!
//! After them, a peer, once: apalis with its SQLite storage
//! (`apalis-sqlite`), one job per transition, run by the program in
//! benches/apalis that `WORKFLOW_BENCH_APALIS` names (left out, with a
//! note, when it is not named); in jobs per second, beside the engine's
//! transitions per second on SQLite in the same run. See durable/apalis.rs
//! for what it runs and times.
//!
//! ```text
//! cargo build --release --manifest-path benches/apalis/Cargo.toml --target-dir target/apalis
//! WORKFLOW_BENCH_APALIS=target/apalis/release/apalis-bench \
//!     cargo bench -p workflow-benches --bench durable
//! ```

use std::cell::RefCell;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rusqlite::{Connection, params};
use workflow::prelude::*;
use workflow::store::{MemoryStore, SqliteStore, Store};

/// Executions per measured run, on either store and in the plain loop.
const EXECUTIONS: u64 = 10_000;
/// The most jobs `SqliteStore`'s group commit puts in one transaction
/// (the peer fetches as many jobs per query).
const MAX_BATCH: usize = 512;

mod common {
    #[path = "../common/template.rs"]
    pub mod template;
    #[path = "../common/ten.rs"]
    pub mod ten;
}

#[path = "durable/apalis.rs"]
mod apalis;

use common::template::{STATES, Template, checkpoint, now_nanos, time_ordered_ids};
use common::ten::Ten;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Runs every execution once on a fresh engine over `store`; the time it took.
fn run(runtime: &tokio::runtime::Runtime, store: impl Store) -> Duration {
    let engine = Engine::builder(()).store(store).build();
    engine.register::<Ten>();
    runtime.block_on(async {
        let started = Instant::now();
        // Started concurrently, so their first writes share transactions too.
        let runs: Vec<_> = (0..EXECUTIONS)
            .map(|n| {
                let engine = engine.clone();
                tokio::spawn(async move {
                    let handle = engine
                        .start::<Ten>(format!("e{n}"), n)
                        .await
                        .expect("starts");
                    handle.await.expect("succeeds")
                })
            })
            .collect();
        for run in runs {
            run.await.expect("joins");
        }
        started.elapsed()
    })
}

/// A database with the store's schema and pragmas.
fn plain_database(path: &Path) -> Connection {
    // The store itself lays out the schema (every migration), so the plain
    // loop writes the very tables the store does; then it steps aside.
    drop(SqliteStore::open(path).expect("the store creates its schema"));
    let connection = Connection::open(path).expect("opens");
    connection
        .busy_timeout(Duration::from_secs(5))
        .expect("a busy timeout");
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .expect("WAL");
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .expect("synchronous = NORMAL");
    connection
}

/// The store's physical limit: the rows `SqliteStore` writes for
/// `EXECUTIONS` executions, by a plain loop, `batch` jobs (a start or a
/// transition) per transaction. The jobs come in the order of an engine
/// with every execution in flight: every start, then every first
/// transition, and so on.
fn plain_inserts(template: &Template, batch: usize) -> Duration {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let connection = plain_database(&dir.path().join("plain.db"));
    // Like the engine's (UUIDv7: Unix milliseconds, then a counter), they
    // increase in the order the executions start.
    let ids = time_ordered_ids(EXECUTIONS);
    let owner = format!("engine-{:016x}", fastrand::u64(..));
    let version = format!("{:016x}", fastrand::u64(..));
    let started = Instant::now();
    let mut create = connection
        .prepare_cached(
            "INSERT INTO executions (id, name, workflow, version, input, state, entry, \
             attempt, retries, waiting, wake_at, status, output, error_name, error_cause, \
             started_at, stopped_at, last_event_id, fence, lease_owner, lease_until, \
             state_name) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
             ?16, NULL, 0, 1, ?17, ?18, ?19)",
        )
        .expect("prepares");
    let mut insert = connection
        .prepare_cached(
            "INSERT INTO events (execution, id, previous_id, at, kind, state, data) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .expect("prepares");
    // As the store does: the status and wake-up time (and their indexes)
    // are written only by the commit that changes them, the last one here.
    let mut update_ending = connection
        .prepare_cached(
            "UPDATE executions SET state = ?2, entry = ?3, attempt = ?4, retries = ?5, \
             waiting = ?6, wake_at = ?7, status = ?8, output = ?9, error_name = ?10, \
             error_cause = ?11, stopped_at = COALESCE(?12, stopped_at), \
             last_event_id = ?13, state_name = ?14 WHERE id = ?1",
        )
        .expect("prepares");
    let mut update_running = connection
        .prepare_cached(
            "UPDATE executions SET state = ?2, entry = ?3, attempt = ?4, retries = ?5, \
             waiting = ?6, output = ?9, error_name = ?10, error_cause = ?11, \
             stopped_at = COALESCE(?12, stopped_at), last_event_id = ?13, state_name = ?14 \
             WHERE id = ?1",
        )
        .expect("prepares");
    let mut in_transaction = 0;
    let mut job_done = |connection: &Connection| {
        in_transaction += 1;
        if in_transaction == batch {
            connection
                .execute_batch("COMMIT; BEGIN IMMEDIATE")
                .expect("commits");
            in_transaction = 0;
        }
    };
    connection.execute_batch("BEGIN IMMEDIATE").expect("begins");
    for (n, id) in ids.iter().enumerate() {
        let n = n as u64;
        create
            .execute(params![
                id,
                format!("e{n}"),
                "Ten",
                version,
                n.to_string(),
                checkpoint(0, n),
                0,
                1,
                "[]",
                None::<String>,
                None::<i64>,
                "Running",
                None::<String>,
                None::<String>,
                None::<String>,
                now_nanos(),
                owner,
                i64::MAX,
                "S1",
            ])
            .expect("inserts an execution");
        job_done(&connection);
    }
    let mut last_event = 0;
    for (commit, events) in template.commits.iter().enumerate() {
        let ends = commit == STATES as usize;
        let state = commit.min(STATES as usize - 1);
        for (n, id) in ids.iter().enumerate() {
            let n = n as u64;
            let at = now_nanos();
            for (offset, event) in events.iter().enumerate() {
                let event_id = last_event + offset as i64 + 1;
                insert
                    .execute(params![
                        id,
                        event_id,
                        event_id - 1,
                        at,
                        event.kind,
                        event.state,
                        event.data,
                    ])
                    .expect("inserts an event");
            }
            let (status, output, stopped_at) = if ends {
                ("Succeeded", Some((n + 9).to_string()), Some(at))
            } else {
                ("Running", None, None)
            };
            let update = if ends {
                &mut update_ending
            } else {
                &mut update_running
            };
            update
                .execute(params![
                    id,
                    checkpoint(state, n),
                    if ends { 0 } else { commit as i64 },
                    if ends { 0 } else { 1 },
                    "[]",
                    None::<String>,
                    None::<i64>,
                    status,
                    output,
                    None::<String>,
                    None::<String>,
                    stopped_at,
                    last_event + events.len() as i64,
                    format!("S{}", state + 1),
                ])
                .expect("updates the execution");
            job_done(&connection);
        }
        last_event += events.len() as i64;
    }
    connection.execute_batch("COMMIT").expect("commits");
    started.elapsed()
}

/// How many write transactions the WAL at `path` holds: its commit
/// frames (a frame header's second word is non-zero on the last frame of
/// a transaction).
fn commit_frames(path: &Path) -> u64 {
    let Ok(wal) = std::fs::read(path) else {
        return 0;
    };
    if wal.len() < 32 {
        return 0;
    }
    let word = |at: usize| u32::from_be_bytes([wal[at], wal[at + 1], wal[at + 2], wal[at + 3]]);
    let frame = 24 + word(8) as usize;
    wal[32..]
        .chunks_exact(frame)
        .filter(|frame| frame[4..8] != [0, 0, 0, 0])
        .count() as u64
}

/// Jobs per transaction that `SqliteStore`'s group commit achieves on this
/// run: a calibration run (not timed) with a reader holding a snapshot,
/// so that no checkpoint resets the WAL and every transaction's commit
/// frame stays in it. Each execution makes 12 writing jobs (a start, a
/// commit per state and one at the end); its one read job (the handle's
/// outcome) writes no frame, and neither does a batch of reads alone.
fn group_commit_batch(runtime: &tokio::runtime::Runtime) -> usize {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("calibrate.db");
    let wal = dir.path().join("calibrate.db-wal");
    let store = SqliteStore::open(&path).expect("opens");
    let reader = Connection::open(&path).expect("opens");
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM executions;")
        .expect("a snapshot");
    let before = commit_frames(&wal);
    run(runtime, store);
    let transactions = commit_frames(&wal) - before;
    let jobs = EXECUTIONS * (STATES + 2);
    let batch = jobs as f64 / transactions.max(1) as f64;
    eprintln!(
        "SqliteStore group commit: {jobs} writing jobs in {transactions} transactions, \
         {batch:.1} jobs per transaction on average (the plain loop uses {})",
        batch.round().max(1.0)
    );
    batch.round().max(1.0) as usize
}

fn durable(c: &mut Criterion) {
    let runtime = runtime();
    let template = Template::of_a_real_execution(&runtime, EXECUTIONS / 2);
    let batch = group_commit_batch(&runtime);
    let mut group = c.benchmark_group("durable_transitions");
    group.throughput(Throughput::Elements(EXECUTIONS * STATES));
    // A SQLite run takes seconds: one warm-up run, then ten samples
    // (criterion's least) of one run each, about a minute per benchmark.
    // Criterion warns that it cannot complete them in the target time;
    // a longer target would make it take two runs per sample.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(10));
    // In memory first: after ten SQLite runs the workers' heap is left
    // fragmented, and the in-memory engine, which allocates for every
    // transition, measured 10-20% slower there than on its own.
    group.bench_function("memory", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| run(&runtime, MemoryStore::new()))
                .sum()
        })
    });
    // Every run's time, for the peer's comparison.
    let sqlite_runs = RefCell::new(Vec::new());
    group.bench_function("sqlite_file_group_commit", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| {
                    let dir = tempfile::tempdir().expect("a temporary directory");
                    let store = SqliteStore::open(dir.path().join("bench.db")).expect("opens");
                    let elapsed = run(&runtime, store);
                    sqlite_runs.borrow_mut().push(elapsed);
                    elapsed
                })
                .sum()
        })
    });
    group.bench_function("sqlite_file_plain_rusqlite_limit", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| plain_inserts(&template, batch))
                .sum()
        })
    });
    group.finish();
    // The engine's mean over its runs but the first (criterion's warm-up),
    // if criterion ran it (a filter may leave it out).
    let runs = sqlite_runs.into_inner();
    let measured = if runs.len() > 1 {
        &runs[1..]
    } else {
        &runs[..]
    };
    let ours = (!measured.is_empty()).then(|| {
        (measured.len() as u64 * EXECUTIONS * STATES) as f64
            / measured.iter().sum::<Duration>().as_secs_f64()
    });
    apalis::peer(ours);
}

criterion_group!(benches, durable);
criterion_main!(benches);
