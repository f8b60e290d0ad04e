//! Latency percentiles of the engine, on the in-memory store and on a SQLite
//! file, for a 10-state workflow whose nine tasks do no work:
//!
//! - start to first task: from calling `engine.start::<W>(name, input)` to
//!   the moment the first task handler begins;
//! - per transition: between the starts of two consecutive task handlers
//!   of one execution (8 per execution), which covers the handler, writing
//!   the transition to the store and scheduling the next state.
//!
//! Each store runs 2,200 executions, 8 at a time, on a 2-worker runtime; the
//! first 200 warm up and are left out. Handlers record `Instant`s into the
//! engine's context; the table gives p50, p99, p99.9 and max of each series.
//! Criterion does not report percentiles, so this is a plain `main`
//! (`harness = false`) that ignores its arguments.
//!
//! Where the slowest starts wait: each start is split at the return of
//! `engine.start` (the execution created in the store, its driver spawned)
//! into the call and the wait for the driver's first poll, and the slowest
//! 1% are shown beside the median start. `LATENCY_WORKERS` and
//! `LATENCY_CONCURRENT` change the runtime's worker threads and the
//! executions in flight (2 and 8), to see how the tail depends on them.
//!
//! ```text
//! cargo bench -p workflow-benches --bench latency
//! ```

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::store::{MemoryStore, SqliteStore, Store};

/// Executions measured per store.
const MEASURED: usize = 2000;
/// Executions run first and left out of the statistics.
const WARMUP: usize = 200;
/// Executions in flight at once, unless `LATENCY_CONCURRENT` says.
const CONCURRENT: usize = 8;
/// The runtime's worker threads, unless `LATENCY_WORKERS` says.
const WORKERS: usize = 2;
/// Task states per execution.
const TASKS: usize = 9;

/// What the handlers share: a clock origin, when each execution was started
/// and when each of its tasks began, in nanoseconds since the origin.
pub struct Marks {
    origin: Instant,
    started: Vec<AtomicU64>,
    /// When `engine.start` returned.
    returned: Vec<AtomicU64>,
    tasks: Vec<AtomicU64>,
}

impl Marks {
    fn new(executions: usize) -> Self {
        Marks {
            origin: Instant::now(),
            started: (0..executions).map(|_| AtomicU64::new(0)).collect(),
            returned: (0..executions).map(|_| AtomicU64::new(0)).collect(),
            tasks: (0..executions * TASKS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// The workflow's data encodes where to record: `execution << 4 | task`,
/// each task adding 1, so task `i` of execution `e` receives `e << 4 | i`.
fn input(execution: usize) -> u64 {
    (execution as u64) << 4
}

#[workflow(context = Arc<Marks>)]
#[derive(Serialize, Deserialize)]
pub enum Probe {
    #[start]
    #[task(mark, next = S2)]
    S1(u64),
    #[task(mark, next = S3)]
    S2(u64),
    #[task(mark, next = S4)]
    S3(u64),
    #[task(mark, next = S5)]
    S4(u64),
    #[task(mark, next = S6)]
    S5(u64),
    #[task(mark, next = S7)]
    S6(u64),
    #[task(mark, next = S8)]
    S7(u64),
    #[task(mark, next = S9)]
    S8(u64),
    #[task(mark, next = S10)]
    S9(u64),
    #[succeed]
    S10(u64),
}

/// Records when it began, then adds 1.
async fn mark(cx: Ctx<'_, Arc<Marks>>, n: u64) -> Result<u64, Infallible> {
    let marks = cx.context();
    let now = marks.now();
    let (execution, task) = ((n >> 4) as usize, (n & 15) as usize);
    marks.tasks[execution * TASKS + task].store(now, Ordering::Relaxed);
    Ok(n + 1)
}

/// Runs every execution, `CONCURRENT` at a time, on a fresh engine over
/// `store`; the marks they left.
fn run(runtime: &tokio::runtime::Runtime, store: impl Store, concurrent: usize) -> Arc<Marks> {
    let executions = WARMUP + MEASURED;
    let marks = Arc::new(Marks::new(executions));
    let engine = Engine::builder(Arc::clone(&marks)).store(store).build();
    engine.register::<Probe>();
    let next = Arc::new(AtomicUsize::new(0));
    runtime.block_on(async {
        let workers: Vec<_> = (0..concurrent)
            .map(|_| {
                let (engine, marks, next) = (engine.clone(), Arc::clone(&marks), Arc::clone(&next));
                tokio::spawn(async move {
                    loop {
                        let e = next.fetch_add(1, Ordering::Relaxed);
                        if e >= executions {
                            break;
                        }
                        marks.started[e].store(marks.now(), Ordering::Relaxed);
                        let handle = engine
                            .start::<Probe>(format!("e{e}"), input(e))
                            .await
                            .expect("starts");
                        marks.returned[e].store(marks.now(), Ordering::Relaxed);
                        let out = handle.await.expect("succeeds");
                        assert_eq!(out, input(e) + TASKS as u64);
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.await.expect("joins");
        }
    });
    marks
}

/// The two series of one run, measured executions only, sorted.
fn series(marks: &Marks) -> (Vec<u64>, Vec<u64>) {
    let mut first = Vec::with_capacity(MEASURED);
    let mut transitions = Vec::with_capacity(MEASURED * (TASKS - 1));
    for e in WARMUP..WARMUP + MEASURED {
        let tasks = &marks.tasks[e * TASKS..(e + 1) * TASKS];
        let at = |i: usize| tasks[i].load(Ordering::Relaxed);
        first.push(at(0) - marks.started[e].load(Ordering::Relaxed));
        transitions.extend((1..TASKS).map(|i| at(i) - at(i - 1)));
    }
    first.sort_unstable();
    transitions.sort_unstable();
    (first, transitions)
}

/// The nearest-rank percentile `p` (0 to 100) of sorted `samples`.
fn percentile(samples: &[u64], p: f64) -> Duration {
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    Duration::from_nanos(samples[rank.clamp(1, samples.len()) - 1])
}

/// Where the slowest 1% of starts (to the first task) spend their time,
/// beside the median start: in `engine.start`, and from its return to the
/// first task (zero when the task began first, on the other worker).
fn slowest_starts(marks: &Marks) -> String {
    let mut starts: Vec<(u64, u64, u64)> = (WARMUP..WARMUP + MEASURED)
        .map(|e| {
            let started = marks.started[e].load(Ordering::Relaxed);
            let returned = marks.returned[e].load(Ordering::Relaxed);
            let first = marks.tasks[e * TASKS].load(Ordering::Relaxed);
            (
                first - started,
                returned.saturating_sub(started),
                first.saturating_sub(returned),
            )
        })
        .collect();
    starts.sort_unstable();
    let median = starts[starts.len() / 2];
    let tail = &starts[starts.len() - starts.len() / 100..];
    let mean = |part: fn(&(u64, u64, u64)) -> u64| {
        let sum: u64 = tail.iter().map(part).sum();
        Duration::from_nanos(sum / tail.len().max(1) as u64)
    };
    format!(
        "median start {} (call {}, then {}); slowest 1%, mean {} (call {}, then {})",
        show(Duration::from_nanos(median.0)),
        show(Duration::from_nanos(median.1)),
        show(Duration::from_nanos(median.2)),
        show(mean(|s| s.0)),
        show(mean(|s| s.1)),
        show(mean(|s| s.2)),
    )
}

/// A setting from the environment, or its default.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

fn show(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1000.0 {
        format!("{us:.1} µs")
    } else {
        format!("{:.2} ms", us / 1000.0)
    }
}

fn main() {
    // `cargo bench` passes `--bench` (and perhaps a filter): nothing to do
    // with them here.
    let (workers, concurrent) = (
        setting("LATENCY_WORKERS", WORKERS),
        setting("LATENCY_CONCURRENT", CONCURRENT),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a runtime");

    let began = Instant::now();
    let memory = run(&runtime, MemoryStore::new(), concurrent);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("latency.db")).expect("opens");
    let sqlite = run(&runtime, store, concurrent);
    let elapsed = began.elapsed();

    let (memory_first, memory_step) = series(&memory);
    let (sqlite_first, sqlite_step) = series(&sqlite);
    let rows = [
        ("memory", "start to first task", &memory_first),
        ("memory", "per transition", &memory_step),
        ("sqlite file", "start to first task", &sqlite_first),
        ("sqlite file", "per transition", &sqlite_step),
    ];

    println!(
        "latency: {MEASURED} executions per store (+{WARMUP} warm-up), \
         {concurrent} at a time, {workers} worker threads, {:.1} s in all",
        elapsed.as_secs_f64()
    );
    println!();
    println!(
        "{:<12} {:<20} {:>7} {:>10} {:>10} {:>10} {:>10}",
        "store", "series", "samples", "p50", "p99", "p99.9", "max"
    );
    for (store, name, samples) in rows {
        println!(
            "{:<12} {:<20} {:>7} {:>10} {:>10} {:>10} {:>10}",
            store,
            name,
            samples.len(),
            show(percentile(samples, 50.0)),
            show(percentile(samples, 99.0)),
            show(percentile(samples, 99.9)),
            show(percentile(samples, 100.0)),
        );
    }
    println!();
    println!("memory: {}", slowest_starts(&memory));
    println!("sqlite file: {}", slowest_starts(&sqlite));
}
