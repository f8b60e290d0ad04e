//! Durable transitions per second: 1,000 executions of a 10-state workflow
//! whose tasks do no work, on a 2-worker runtime, with every transition
//! committed to a SQLite file (WAL, group commit) — beside the same run on
//! the in-memory store, in one run.
//!
//! ```text
//! cargo bench --bench durable
//! ```

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use workflow::prelude::*;
use workflow::store::{MemoryStore, SqliteStore, Store};

const EXECUTIONS: u64 = 1000;
const STATES: u64 = 10;

#[path = "common/ten.rs"]
mod ten;

use ten::Ten;

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

fn durable(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("durable_transitions");
    group.throughput(Throughput::Elements(EXECUTIONS * STATES));
    group.sample_size(10);
    group.bench_function("sqlite_file_group_commit", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| {
                    let dir = tempfile::tempdir().expect("a temporary directory");
                    let store = SqliteStore::open(dir.path().join("bench.db")).expect("opens");
                    run(&runtime, store)
                })
                .sum()
        })
    });
    group.bench_function("memory", |b| {
        b.iter_custom(|iterations| {
            (0..iterations)
                .map(|_| run(&runtime, MemoryStore::new()))
                .sum()
        })
    });
    group.finish();
}

criterion_group!(benches, durable);
criterion_main!(benches);
