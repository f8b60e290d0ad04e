//! `underway` running a 10-step job, for benches/postgres.rs: the same
//! work as the workflow benchmark's 10-state `Ten` (each step adds one to
//! a number; the tenth ends the job), on the same server.
//!
//! ```text
//! underway-bench prepare URL                         a fresh `underway` schema
//! underway-bench worker URL QUEUE CONCURRENCY POOL   runs the job's worker until
//!                                                    its standard input closes;
//!                                                    prints `ready` once listening
//! underway-bench client URL QUEUE JOBS POOL          enqueues JOBS jobs at once and
//!                                                    waits for every step: prints
//!                                                    the nanoseconds from the first
//!                                                    enqueue to the last step's end
//! ```

use std::hint::black_box;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::ToSpan;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use tokio::io::AsyncReadExt;
use underway::{Job, To};

/// Steps per job: the transitions one execution of `Ten` makes.
const STEPS: i64 = 10;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The job: ten steps, each adding one to its input.
async fn job(pool: PgPool, queue: &str) -> Result<Job<u64, ()>> {
    async fn add(n: u64) -> underway::task::Result<To<u64>> {
        To::next(black_box(n) + 1)
    }
    Ok(Job::builder()
        .step(|_cx, n: u64| add(n))
        .step(|_cx, n: u64| add(n))
        .step(|_cx, n: u64| add(n))
        .step(|_cx, n: u64| add(n))
        .step(|_cx, n: u64| add(n))
        .step(|_cx, n: u64| add(n))
        .step(|_cx, n: u64| add(n))
        .step(|_cx, n: u64| add(n))
        .step(|_cx, n: u64| add(n))
        .step(|_cx, n: u64| async move {
            black_box(n);
            To::done()
        })
        .name(queue)
        .pool(pool)
        .build()
        .await?)
}

/// A pool of `size` connections, named so that this process's sessions can
/// be found in `pg_stat_activity`.
async fn pool(url: &str, size: u32, name: &str) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url)?.application_name(name);
    Ok(PgPoolOptions::new()
        .max_connections(size)
        .connect_with(options)
        .await?)
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

/// Drops whatever an earlier run left and runs underway's migrations.
async fn prepare(url: &str) -> Result<()> {
    let pool = pool(url, 1, "underway-bench-prepare").await?;
    sqlx::query("DROP SCHEMA IF EXISTS underway CASCADE")
        .execute(&pool)
        .await?;
    underway::run_migrations(&pool).await?;
    Ok(())
}

async fn worker(url: &str, queue: &str, concurrency: usize, size: u32) -> Result<()> {
    let name = format!("underway-bench-worker-{}", std::process::id());
    let pool = pool(url, size, &name).await?;
    let job = job(pool.clone(), queue).await?;
    let mut worker = job.worker();
    worker.set_concurrency_limit(concurrency);
    // Polls every second besides listening, as the workflow engine does by
    // default on a shared store.
    let running = tokio::spawn(async move { worker.run_every(1.second()).await });
    // Ready once its listener for new tasks is in place: before it, a
    // NOTIFY would be missed until the next poll.
    loop {
        let listening: i64 = sqlx::query(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE application_name = $1 AND query LIKE 'LISTEN%task_change%'",
        )
        .bind(&name)
        .fetch_one(&pool)
        .await?
        .get(0);
        if listening > 0 {
            break;
        }
        if running.is_finished() {
            running.await??;
            return Err("the worker stopped".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!("ready");
    // Until the benchmark closes our standard input (or dies).
    let mut rest = Vec::new();
    tokio::io::stdin().read_to_end(&mut rest).await?;
    Ok(())
}

fn nanos(time: SystemTime) -> i64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

async fn client(url: &str, queue: &str, jobs: u64, size: u32) -> Result<()> {
    let pool = pool(url, size, "underway-bench-client").await?;
    let job = job(pool.clone(), queue).await?;
    let started = nanos(SystemTime::now());
    // Enqueued at once, as the workflow benchmark starts its executions.
    let enqueued: Vec<_> = (0..jobs)
        .map(|n| {
            let job = job.clone();
            tokio::spawn(async move { job.enqueue(&n).await.map(drop) })
        })
        .collect();
    for enqueue in enqueued {
        enqueue.await??;
    }
    // Every step is a task row: done when all of them succeeded. The time
    // is the last one's completion as the server recorded it, so this
    // poll's period does not count; and it is long because the count scans
    // the task table (underway indexes no task's state), which would
    // otherwise take a share of the server from the workers.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let ended = loop {
        let row = sqlx::query(
            "SELECT count(*) FILTER (WHERE state = 'succeeded'), \
                    count(*) FILTER (WHERE state IN ('failed', 'cancelled')), \
                    (extract(epoch FROM max(completed_at)) * 1e9)::bigint \
             FROM underway.task WHERE task_queue_name = $1",
        )
        .bind(queue)
        .fetch_one(&pool)
        .await?;
        let (succeeded, failed): (i64, i64) = (row.get(0), row.get(1));
        if failed > 0 {
            return Err(format!("{failed} underway tasks failed").into());
        }
        if succeeded == jobs as i64 * STEPS {
            break row.get::<Option<i64>, _>(2).unwrap_or(started);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(format!("only {succeeded} steps succeeded in 300 s").into());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    println!("{}", ended - started);
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let run = async {
        let url: String = arg(&args, 2)?;
        match args.get(1).map(String::as_str) {
            Some("prepare") => prepare(&url).await,
            Some("worker") => {
                worker(
                    &url,
                    &arg::<String>(&args, 3)?,
                    arg(&args, 4)?,
                    arg(&args, 5)?,
                )
                .await
            }
            Some("client") => {
                client(
                    &url,
                    &arg::<String>(&args, 3)?,
                    arg(&args, 4)?,
                    arg(&args, 5)?,
                )
                .await
            }
            _ => Err("usage: underway-bench prepare|worker|client ... (see main.rs)".into()),
        }
    };
    match run.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("underway-bench: {error}");
            ExitCode::FAILURE
        }
    }
}
