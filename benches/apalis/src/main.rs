//! `apalis` on its SQLite storage (`apalis-sqlite`), for benches/durable.rs:
//! durable background jobs on a SQLite file, one trivial job per
//! transition the workflow engine makes there (each job adds one to its
//! number, as each of the engine's tasks does).
//!
//! ```text
//! apalis-bench FILE JOBS BATCH CONCURRENCY
//! ```
//!
//! - Lays out apalis-sqlite's schema in FILE (a new file: its `setup`, that
//!   is its pragmas and every migration, on a connection of its own).
//! - Opens the pool the storage works on with the pragmas the workflow
//!   store uses (WAL, `synchronous = NORMAL`, `temp_store = MEMORY`) on
//!   every connection: apalis's `setup` sets `synchronous = OFF`, but only
//!   on the one connection it happens to run on, and sqlx leaves the others
//!   at SQLite's default, FULL; this way both sides of the comparison keep
//!   the same durability.
//! - **Push:** JOBS jobs (the numbers 0 to JOBS - 1) in one `push_bulk`,
//!   which apalis-sqlite writes in one transaction.
//! - **Process:** one apalis worker, on this 2-thread runtime (the engine's
//!   in the benchmark has 2 as well), running up to CONCURRENCY jobs at
//!   once and fetching BATCH jobs per query, with apalis-sqlite's defaults
//!   otherwise: each job is locked before it runs and its result stored
//!   when it ends (both queued as events, and written a batch of events per
//!   transaction, apart from the fetches' transactions). The
//!   handler that completes the JOBS-th job stops the worker, which then
//!   finishes its jobs in flight and writes their results; processing ends
//!   when the worker has stopped.
//! - Checks that the storage reports every job done (not timed).
//!
//! Reading the numbers: apalis-sqlite 1.0's processing time grows with the
//! square of the jobs (about 14 s for 5,000 jobs, 270 s for 20,000, on a
//! shared 2-core machine), so its jobs per second depend on how many a run
//! takes. The statement that stores a batch of results (queries/task/
//! ack.sql: `UPDATE Jobs ... FROM json_each(?1) ... WHERE Jobs.id =
//! j.task_id AND Jobs.lock_by = ?2`) is planned, by the SQLite that sqlx
//! 0.9 bundles (3.51), as a search of the index on `lock_by` with the JSON
//! batch read again for each row found: every job the worker has ever
//! done, as a job keeps its `lock_by` when done. Statistics (ANALYZE) did
//! not change that plan; a profile of a run is mostly SQLite's JSON
//! parser. Nothing here works around it: this is the crate as shipped.
//!
//! Prints one line, `jobs=JOBS push_seconds=P process_seconds=R seconds=T`:
//! the push, the processing, and the two together (from the first push to
//! the last result written), which is what the benchmark compares with the
//! engine's run (from its first start to its last execution's end).

use std::hint::black_box;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_sqlite::{Config, SqliteStorage};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The queue the jobs go to.
const QUEUE: &str = "bench";

/// Jobs the handler has completed, and how many the run pushed.
static COMPLETED: AtomicU64 = AtomicU64::new(0);
static JOBS: OnceLock<u64> = OnceLock::new();

/// The job: one addition the optimizer cannot see through (as the
/// engine's tasks do), its result stored by apalis. The last job's handler
/// stops the worker.
async fn step(n: u64, worker: WorkerContext) -> std::result::Result<u64, BoxDynError> {
    let next = black_box(n) + 1;
    let jobs = *JOBS.get().expect("set before the worker runs");
    if COMPLETED.fetch_add(1, Ordering::Relaxed) + 1 == jobs {
        worker.stop()?;
    }
    Ok(next)
}

fn arg<T: FromStr>(args: &[String], index: usize) -> Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text = args
        .get(index)
        .ok_or_else(|| format!("argument {index} is missing (see the usage in main.rs)"))?;
    Ok(text.parse()?)
}

async fn run(path: PathBuf, jobs: u64, batch: usize, concurrency: usize) -> Result<()> {
    JOBS.set(jobs).map_err(|_| "run twice")?;
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(5))
        .pragma("temp_store", "MEMORY");
    // apalis-sqlite's own setup, on a connection that is then closed (see
    // the module's documentation for why).
    let setup = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await?;
    SqliteStorage::setup(&setup).await?;
    setup.close().await;

    let pool = SqlitePoolOptions::new().connect_with(options).await?;
    let config = Config::default().queue(QUEUE).batch_size(batch);
    let mut storage = SqliteStorage::<u64>::new(&pool).with_config(config);

    let started = Instant::now();
    storage
        .push_bulk((0..jobs).collect())
        .await
        .map_err(|error| format!("push: {error:?}"))?;
    let pushed = started.elapsed();

    let processing = Instant::now();
    let worker = WorkerBuilder::new("apalis-bench")
        .backend(storage)
        .concurrency(concurrency)
        .build(step);
    worker.run().await?;
    let processed = processing.elapsed();

    let (done, all): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'Done'), count(*) FROM Jobs WHERE job_type = ?1",
    )
    .bind(QUEUE)
    .fetch_one(&pool)
    .await?;
    if done != jobs as i64 || all != jobs as i64 {
        return Err(format!("{done} of {all} jobs done, {jobs} pushed").into());
    }
    pool.close().await;
    println!(
        "jobs={jobs} push_seconds={:.6} process_seconds={:.6} seconds={:.6}",
        pushed.as_secs_f64(),
        processed.as_secs_f64(),
        (pushed + processed).as_secs_f64()
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = async {
        run(
            arg(&args, 1)?,
            arg(&args, 2)?,
            arg(&args, 3)?,
            arg(&args, 4)?,
        )
        .await
    };
    match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("apalis-bench: {error}");
            ExitCode::FAILURE
        }
    }
}
