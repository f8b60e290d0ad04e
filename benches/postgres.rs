//! Durable transitions per second on PostgreSQL, with 1, 2 and 4 worker
//! processes, beside the server's plain-insert limit for the same rows and
//! beside a peer, `underway`, doing the same work on the same server, in
//! one run.
//!
//! - **The engine:** this benchmark's binary runs itself again as N worker
//!   processes (`WORKFLOW_BENCH_PG_WORKER` names the schema), each an engine
//!   on a `PostgresStore` of 16 connections (the store's default) on a
//!   fresh schema; this process is a client (`client_only`, 16 connections)
//!   that starts 2,000 executions of the 10-state `Ten` (benches/common) at
//!   once. A run lasts from the first start to the last execution's end as
//!   the store recorded it (its `stopped_at`; the client polls a count of
//!   the ended ones every 100 ms to know when to stop, and that period does
//!   not count). 10 transitions per execution. `WORKFLOW_BENCH_VERBOSE=1`
//!   prints each run's spread (when executions took their first step, and
//!   ended).
//! - **The plain-insert limit:** the same server, the rows the store
//!   writes for the same executions with plain `tokio-postgres`
//!   statements, batched as the store batches them (group starts, group
//!   commits: up to 256 rows a statement, 4 statements in flight per
//!   store): the starts over 4 connections (the client's one store), then
//!   per step of the executions one statement per batch that UPDATEs the
//!   execution rows (every column the store's commit sets) and INSERTs
//!   that step's history events (taken from a real execution), over 4
//!   connections per worker, in the store's own schema. No engine, no
//!   claims, no fences, no locks, no NOTIFY, no reads. In transitions per
//!   second as well.
//! - **underway** 0.2 (durable step functions on PostgreSQL): a 10-step
//!   job (each step adds one; the tenth ends it), the same 2,000 jobs
//!   enqueued at once, its workers in 2 processes of 16 connections, each
//!   running up to 16 steps at once, from the program in benches/underway
//!   (a workspace of its own: see its Cargo.toml for why), which
//!   `WORKFLOW_BENCH_UNDERWAY` names; steps per second, from the first
//!   enqueue to the last step's completion as the server recorded it.
//!   Run once, after the criterion group, not as ten criterion samples: a
//!   run takes about two minutes, as each of underway's dequeues, and its
//!   updates by task id, scan the task table, where every step's row stays
//!   (underway indexes neither the state nor the id alone), so a step costs
//!   more the more steps have run. Left out, with a note, when the program
//!   is not named.
//!
//! Reading the numbers: the engine's runs once spread far wider than the
//! plain loop's (2 s to 12 s for one worker on the same server). The cause
//! was in the store, not the engine: on a new schema (every run here; a new
//! deployment's too, likely until the table is first analyzed), the
//! planner could take an index on the status for a commit's condition
//! `status = 'Running'` over the primary key, and then every commit read
//! every running execution (seen with auto_explain). The store's statements
//! now put no condition on an execution row alone (the status they require
//! is a parameter, a column of the batch), so the planner sees only joins
//! on the primary key. With group starts and group commits, a worker's
//! statements carry about 100 to 230 transitions each
//! (`WORKFLOW_BENCH_VERBOSE=1` prints each worker's mean); the server, not
//! the round trips, is then the limit: on a 2-core machine the plain loop
//! gives about the same with 1, 2 or 4 workers.
//!
//! Needs a PostgreSQL server: `WORKFLOW_BENCH_POSTGRES` names it (its URL);
//! without it the benchmark is skipped with a note. `scripts/bench` starts
//! a throw-away cluster for it (`scripts/postgres`: fsync and synchronous
//! commit off, as the tests run it) and builds underway's program.
//!
//! ```text
//! url=$(scripts/postgres start)
//! cargo build --release --manifest-path benches/underway/Cargo.toml --target-dir target/underway
//! WORKFLOW_BENCH_POSTGRES=$url WORKFLOW_BENCH_UNDERWAY=target/underway/release/underway-bench \
//!     cargo bench -p workflow-benches --bench postgres
//! scripts/postgres stop
//! ```

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use tokio_postgres::{Client, NoTls};
use workflow::postgres::PostgresStore;
use workflow::prelude::*;

mod common {
    #[path = "../common/template.rs"]
    pub mod template;
    #[path = "../common/ten.rs"]
    pub mod ten;
}

#[path = "postgres/plain.rs"]
mod plain;

use common::template::{STATES, Template, now_nanos};
use common::ten::Ten;
use plain::plain_run;

/// Executions (underway: jobs) per measured run.
const EXECUTIONS: u64 = 2_000;
/// Worker processes in each engine benchmark.
const WORKERS: [usize; 3] = [1, 2, 4];
/// Each worker's connections (and the client's): the store's default.
const POOL: usize = 16;
/// Each worker's group commits on their way at once (the store's
/// default), and the most transitions one carries.
const COMMITS_IN_FLIGHT: usize = 4;
const MAX_BATCH: usize = 256;
/// Worker processes for underway, and how many steps each runs at once
/// (its pool has `POOL` connections, as each engine worker's store).
const UNDERWAY_WORKERS: usize = 2;
const UNDERWAY_CONCURRENCY: usize = POOL;

const URL: &str = "WORKFLOW_BENCH_POSTGRES";
const UNDERWAY: &str = "WORKFLOW_BENCH_UNDERWAY";
/// Set in a worker process: the schema to work on.
const WORKER: &str = "WORKFLOW_BENCH_PG_WORKER";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A connection for the benchmark's own statements (counting, dropping
/// schemas, the plain loop), on the caller's runtime.
async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("the benchmark database");
    tokio::spawn(connection);
    client
}

fn fresh_schema(what: &str) -> String {
    format!(
        "bench_{what}_{}_{:08x}",
        std::process::id(),
        fastrand::u32(..)
    )
}

/// A worker process: an engine that claims and runs `Ten` executions from
/// `schema` until the benchmark closes its standard input.
fn worker(schema: &str) {
    let url = std::env::var(URL).expect("the database's URL");
    let application = format!("bench-worker-{}", std::process::id());
    runtime().block_on(async {
        let store = PostgresStore::builder(url.clone())
            .schema(schema)
            .pool_size(POOL)
            .application_name(application.clone())
            .commits_in_flight(COMMITS_IN_FLIGHT)
            .connect()
            .await
            .expect("the store");
        let store = Arc::new(store);
        let engine = Engine::builder(()).store(Arc::clone(&store)).build();
        engine.register::<Ten>();
        engine.recover().await.expect("claims");
        // Ready once its store listens for starts: a start notified before
        // that would wait for the next poll (1 s).
        let admin = connect(&url).await;
        loop {
            let listening: i64 = admin
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE application_name = $1 AND query LIKE 'LISTEN%'",
                    &[&application],
                )
                .await
                .expect("counts")
                .get(0);
            if listening > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(admin);
        println!("ready");
        std::io::stdout().flush().expect("writes");
        tokio::task::spawn_blocking(|| std::io::copy(&mut std::io::stdin(), &mut std::io::sink()))
            .await
            .expect("joins")
            .expect("reads");
        drop(engine);
        if std::env::var_os("WORKFLOW_BENCH_VERBOSE").is_some() {
            let grouped = store.group_commits();
            eprintln!(
                "worker {}: {} transitions in {} group commits ({:.1} per statement)",
                std::process::id(),
                grouped.items,
                grouped.batches,
                grouped.mean_batch()
            );
        }
    });
}

/// Running worker processes; they end when dropped (their standard input
/// closes), or with the benchmark.
struct Workers(Vec<(Child, Option<ChildStdin>)>);

impl Workers {
    /// Starts `command` `count` times and waits until each says `ready`.
    fn start(count: usize, command: impl Fn() -> Command) -> Workers {
        let mut workers = Workers(Vec::new());
        for _ in 0..count {
            let mut child = command()
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("a worker process starts");
            let stdin = child.stdin.take();
            let stdout = child.stdout.take().expect("its output");
            workers.0.push((child, stdin));
            let mut line = String::new();
            BufReader::new(stdout)
                .read_line(&mut line)
                .expect("reads the worker's output");
            assert_eq!(line.trim(), "ready", "a worker did not start");
        }
        workers
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        for (child, stdin) in &mut self.0 {
            drop(stdin.take());
            let _ = child.wait();
        }
    }
}

/// One run of the engine: `workers` worker processes on a fresh schema,
/// `EXECUTIONS` executions started from this process; the time from the
/// first start to the last end.
fn engine_run(runtime: &tokio::runtime::Runtime, url: &str, workers: usize) -> Duration {
    let schema = fresh_schema("engine");
    let (client, admin) = runtime.block_on(async {
        // The client's store lays the schema out before the workers start.
        let store = PostgresStore::builder(url.to_owned())
            .schema(schema.clone())
            .pool_size(POOL)
            .connect()
            .await
            .expect("the store");
        let client = Engine::builder(()).store(store).client_only().build();
        client.register::<Ten>();
        (client, connect(url).await)
    });
    let processes = Workers::start(workers, || {
        let mut command = Command::new(std::env::current_exe().expect("this benchmark"));
        command.env(WORKER, &schema).env(URL, url);
        command
    });
    let elapsed = runtime.block_on(async {
        let started = now_nanos();
        // Started at once, as the durable benchmark starts its executions.
        let starts: Vec<_> = (0..EXECUTIONS)
            .map(|n| {
                let client = client.clone();
                tokio::spawn(async move {
                    let handle = client
                        .start::<Ten>(format!("e{n}"), n)
                        .await
                        .expect("starts");
                    handle.id().to_owned()
                })
            })
            .collect();
        let mut ids = Vec::new();
        for start in starts {
            ids.push(start.await.expect("joins"));
        }
        let all_started = now_nanos();
        let count = format!(
            "SELECT count(*) FILTER (WHERE status = 'Succeeded'), \
                    count(*) FILTER (WHERE status NOT IN ('Running', 'Succeeded')), \
                    max(stopped_at) \
             FROM {schema}.executions"
        );
        let deadline = Instant::now() + Duration::from_secs(300);
        let ended = loop {
            let row = admin.query_one(&count, &[]).await.expect("counts");
            let (succeeded, failed): (i64, i64) = (row.get(0), row.get(1));
            assert_eq!(failed, 0, "executions failed");
            if succeeded as u64 == EXECUTIONS {
                break row.get::<_, Option<i64>>(2).expect("an end");
            }
            assert!(
                Instant::now() < deadline,
                "only {succeeded} executions ended in 300 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // The outcome as a caller sees it, for two of them.
        for n in [0, EXECUTIONS - 1] {
            let outcome = client.handle::<Ten>(ids[n as usize].clone()).await;
            assert_eq!(outcome, Ok(n + 9));
        }
        if std::env::var_os("WORKFLOW_BENCH_VERBOSE").is_some() {
            // When the executions took their first step, and when they ended.
            let quantiles = format!(
                "SELECT percentile_disc(ARRAY[0.01, 0.1, 0.5, 0.9, 0.99]) \
                 WITHIN GROUP (ORDER BY at - $1) FROM {schema}.events WHERE id = 1 \
                 UNION ALL \
                 SELECT percentile_disc(ARRAY[0.01, 0.1, 0.5, 0.9, 0.99]) \
                 WITHIN GROUP (ORDER BY stopped_at - $1) FROM {schema}.executions"
            );
            let rows = admin
                .query(&quantiles, &[&started])
                .await
                .expect("quantiles");
            let ms = |row: &tokio_postgres::Row| {
                row.get::<_, Vec<i64>>(0)
                    .iter()
                    .map(|q| q / 1_000_000)
                    .collect::<Vec<_>>()
            };
            eprintln!(
                "engine run, {workers} workers: started in {:.0} ms, ended after {:.0} ms \
                 (p1/10/50/90/99: first events {:?} ms, ends {:?} ms)",
                (all_started - started) as f64 / 1e6,
                (ended - started) as f64 / 1e6,
                ms(&rows[0]),
                ms(&rows[1]),
            );
        }
        Duration::from_nanos(u64::try_from(ended - started).expect("ends after it starts"))
    });
    drop(processes);
    drop(client);
    runtime.block_on(async {
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .expect("drops the schema");
    });
    elapsed
}

/// One run of underway: a fresh `underway` schema, `workers` worker
/// processes, `EXECUTIONS` jobs enqueued by its client; the time it
/// measured from the first enqueue to the last step's end.
fn underway_run(program: &str, url: &str, workers: usize) -> Duration {
    let run = |args: &[&str]| {
        let output = Command::new(program)
            .args(args)
            .stderr(Stdio::inherit())
            .output()
            .expect("runs underway-bench");
        assert!(output.status.success(), "underway-bench {args:?} failed");
        String::from_utf8(output.stdout).expect("text")
    };
    run(&["prepare", url]);
    let queue = format!("bench_{:08x}", fastrand::u32(..));
    let (concurrency, pool) = (UNDERWAY_CONCURRENCY.to_string(), POOL.to_string());
    let processes = Workers::start(workers, || {
        let mut command = Command::new(program);
        command.args(["worker", url, &queue, &concurrency, &pool]);
        command
    });
    let nanos = run(&["client", url, &queue, &EXECUTIONS.to_string(), &pool]);
    drop(processes);
    Duration::from_nanos(nanos.trim().parse().expect("nanoseconds"))
}

fn postgres(c: &mut Criterion, url: &str) {
    let runtime = runtime();
    let template = Arc::new(Template::of_a_real_execution(&runtime, EXECUTIONS / 2));
    let mut group = c.benchmark_group("postgres_transitions");
    group.throughput(Throughput::Elements(EXECUTIONS * STATES));
    // A run takes a second or more: one warm-up run, then ten samples
    // (criterion's least) of one run each.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(1));
    group.measurement_time(Duration::from_secs(1));
    for workers in WORKERS {
        group.bench_function(format!("engine_{workers}_workers"), |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| engine_run(&runtime, url, workers))
                    .sum()
            })
        });
        group.bench_function(format!("plain_insert_limit_{workers}_workers"), |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| plain_run(&runtime, url, &template, workers))
                    .sum()
            })
        });
    }
    group.finish();
    underway(url);
}

/// underway's run, once: see the module's documentation for why not ten
/// times. Printed, with a line for scripts/bench to read.
fn underway(url: &str) {
    let program = match std::env::var(UNDERWAY) {
        Ok(program) if !program.is_empty() => program,
        _ => {
            eprintln!(
                "postgres: underway left out: {UNDERWAY} names no underway-bench program \
                 (scripts/bench builds benches/underway and names it)"
            );
            return;
        }
    };
    let elapsed = underway_run(&program, url, UNDERWAY_WORKERS);
    let steps = (EXECUTIONS * STATES) as f64;
    println!(
        "underway, {UNDERWAY_WORKERS} worker processes ({UNDERWAY_CONCURRENCY} steps at once \
         each), {EXECUTIONS} jobs of {STATES} steps: {:.1} s, {:.0} steps/s",
        elapsed.as_secs_f64(),
        steps / elapsed.as_secs_f64()
    );
    println!(
        "postgres_underway_steps_per_second={:.1}",
        steps / elapsed.as_secs_f64()
    );
}

fn main() {
    if let Ok(schema) = std::env::var(WORKER) {
        worker(&schema);
        return;
    }
    let url = match std::env::var(URL) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            eprintln!(
                "postgres: skipped: {URL} names no PostgreSQL server \
                 (scripts/bench starts one and names it)"
            );
            return;
        }
    };
    let mut criterion = Criterion::default().configure_from_args();
    postgres(&mut criterion, &url);
    criterion.final_summary();
}
