//! Resident memory per execution parked in a Wait state.
//!
//! A three-state workflow (a task, a one-day wait, a succeed state) is
//! started many times on a 2-worker runtime, at most two windows of 10,000
//! executions in flight. Once every execution has run its task and parked
//! (the wait is longer than `park_after`, so its deadline stays in the store
//! and its task ends: `Engine::active_tasks` is 0), the process's resident
//! set size (`/proc/self/statm`) is compared with the one before the first
//! start, and with the one once about half had parked (the second half's
//! bytes per execution leave out what the first starts left behind):
//!
//! - 100,000 executions on the in-memory store, where each parked
//!   execution's row and history stay in memory by design;
//! - 1,000,000 executions on a SQLite file, where only what the engine
//!   itself keeps per execution should stay (goal: the whole process under
//!   256 MiB). Starting stops at a deadline (`MEMORY_DEADLINE_SECS`,
//!   180 s by default); what was reached is measured, and the million is
//!   then extrapolated from it, labelled as such.
//!
//! Both cases also check that the engine itself keeps nothing for a parked
//! execution nobody awaits (`Engine::executions_in_memory` is 0).
//!
//! Each case runs in a child process of its own (this program re-executed),
//! so that memory freed by one case cannot be reused by the next. The counts
//! can be changed with `MEMORY_EXECUTIONS` and `MEMORY_SQLITE_EXECUTIONS`.
//!
//! ```text
//! cargo bench -p workflow-benches --bench memory
//! ```

use std::convert::Infallible;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::store::{MemoryStore, SqliteStore, Store};

/// Counts the tasks that ran: every execution runs one before it waits.
#[derive(Default)]
pub struct Counter {
    ran: AtomicU64,
}

#[workflow(context = Counter)]
#[derive(Serialize, Deserialize)]
pub enum Nap {
    #[start]
    #[task(prepare, next = Sleep)]
    Prepare(u64),
    #[wait(seconds = 86400, next = Done)]
    Sleep(u64),
    #[succeed]
    Done(u64),
}

async fn prepare(cx: Ctx<'_, Counter>, n: u64) -> Result<u64, Infallible> {
    cx.context().ran.fetch_add(1, Ordering::Relaxed);
    Ok(n + 1)
}

/// The variable that tells a child process which case to run.
const CASE: &str = "WORKFLOW_MEMORY_CASE";
/// Starts in flight at once, at most.
const WINDOW: u64 = 10_000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// The resident set size of this process, in pages.
fn resident_pages() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .expect("a resident page count")
}

fn page_size() -> u64 {
    Command::new("getconf")
        .arg("PAGESIZE")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// What a child measured: resident bytes before the first start, once
/// about half the executions have parked, and once all have.
struct Measured {
    executions: u64,
    before: u64,
    half: (u64, u64),
    after: u64,
    seconds: f64,
}

impl Measured {
    /// Bytes per parked execution, over the whole run.
    fn per_execution(&self) -> f64 {
        self.after.saturating_sub(self.before) as f64 / self.executions.max(1) as f64
    }

    /// Bytes per parked execution over the second half only: what one more
    /// costs, without what the first starts left behind (the allocator's
    /// high-water mark of executions in flight, the runtime's buffers).
    fn marginal(&self) -> f64 {
        let (executions, rss) = self.half;
        self.after.saturating_sub(rss) as f64
            / self.executions.saturating_sub(executions).max(1) as f64
    }
}

/// Waits until every one of the `started` executions has run its task and
/// none has a task left: all are parked.
async fn settled(engine: &Engine<Counter>, started: u64) {
    while engine.context().ran.load(Ordering::Relaxed) < started || engine.active_tasks() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts up to `target` executions (stopping early at `deadline`), waits
/// until every one has run its task and parked, and measures; then checks,
/// with `parked`, that the store holds them all as parked.
fn park(
    case: &str,
    store: impl Store,
    target: u64,
    deadline: Duration,
    parked: impl FnOnce(&tokio::runtime::Runtime, &Engine<Counter>) -> u64,
) -> Measured {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let engine = Engine::builder(Counter::default()).store(store).build();
    engine.register::<Nap>();
    // Asked for once, before the first measure.
    let page = page_size();
    let before = resident_pages() * page;
    let started = Instant::now();
    let (executions, half) = runtime.block_on(async {
        let mut next = 0;
        let mut half = None;
        while next < target && started.elapsed() < deadline {
            let end = (next + WINDOW).min(target);
            let starts: Vec<_> = (next..end)
                .map(|n| {
                    let engine = engine.clone();
                    tokio::spawn(async move {
                        // The handle is dropped: the execution runs on.
                        engine
                            .start::<Nap>(format!("nap-{n}"), n)
                            .await
                            .expect("starts");
                    })
                })
                .collect();
            for start in starts {
                start.await.expect("joins");
            }
            next = end;
            // About two windows of executions in flight at most: an
            // execution is in flight until its task has parked it, which
            // on SQLite is well after its task ran (its commits queue).
            while engine.active_tasks() as u64 > WINDOW {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if half.is_none() && (next >= target / 2 || started.elapsed() >= deadline / 2) {
                settled(&engine, next).await;
                half = Some((next, resident_pages() * page));
            }
            if next % 100_000 == 0 {
                eprintln!(
                    "  [{case}] {next} started, {:.1} s, {:.0} MiB resident",
                    started.elapsed().as_secs_f64(),
                    mib(resident_pages() * page),
                );
            }
        }
        settled(&engine, next).await;
        (next, half.unwrap_or((0, before)))
    });
    let seconds = started.elapsed().as_secs_f64();
    let after = resident_pages() * page;
    // Checked after the measure: checking allocates.
    assert_eq!(
        engine.executions_in_memory(),
        0,
        "the engine keeps nothing for a parked execution"
    );
    assert_eq!(
        parked(&runtime, &engine),
        executions,
        "every execution is parked in Sleep"
    );
    Measured {
        executions,
        before,
        half,
        after,
        seconds,
    }
}

/// Runs one case in this process and prints what it measured.
fn child(case: &str) {
    let measured = match case {
        "memory" => park(
            case,
            MemoryStore::new(),
            env_u64("MEMORY_EXECUTIONS", 100_000),
            Duration::MAX,
            |runtime, engine| {
                let running = runtime
                    .block_on(engine.list(Some("Nap"), Some(Status::Running)))
                    .expect("lists");
                running
                    .iter()
                    .filter(|d| d.state == "Sleep" && d.wake_at.is_some())
                    .count() as u64
            },
        ),
        "sqlite" => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let path = dir.path().join("parked.db");
            let store = SqliteStore::open(&path).expect("opens");
            park(
                case,
                store,
                env_u64("MEMORY_SQLITE_EXECUTIONS", 1_000_000),
                Duration::from_secs(env_u64("MEMORY_DEADLINE_SECS", 180)),
                |_, _| {
                    // Parked: waiting in Sleep, its claim released.
                    let connection = rusqlite::Connection::open(&path).expect("opens");
                    let count: i64 = connection
                        .query_row(
                            "SELECT count(*) FROM executions WHERE status = 'Running' \
                             AND state_name = 'Sleep' AND wake_at IS NOT NULL \
                             AND lease_until IS NULL",
                            [],
                            |row| row.get(0),
                        )
                        .expect("counts");
                    count as u64
                },
            )
        }
        other => panic!("unknown case `{other}`"),
    };
    println!(
        "measured {} {} {} {} {} {}",
        measured.executions,
        measured.before,
        measured.half.0,
        measured.half.1,
        measured.after,
        measured.seconds
    );
}

/// Runs a case in a child process.
fn measure(case: &str) -> Measured {
    let exe = std::env::current_exe().expect("this program");
    let output = Command::new(exe)
        .env(CASE, case)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find(|l| l.starts_with("measured "));
    let Some(line) = line.filter(|_| output.status.success()) else {
        panic!(
            "case `{case}` failed ({}):\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let fields: Vec<&str> = line.split_whitespace().skip(1).collect();
    let number = |i: usize| -> u64 { fields[i].parse().expect("a number") };
    Measured {
        executions: number(0),
        before: number(1),
        half: (number(2), number(3)),
        after: number(4),
        seconds: fields[5].parse().expect("seconds"),
    }
}

fn main() {
    // Criterion-style arguments (`--bench`, filters) are ignored.
    if let Ok(case) = std::env::var(CASE) {
        child(&case);
        return;
    }
    let sqlite_target = env_u64("MEMORY_SQLITE_EXECUTIONS", 1_000_000);
    println!("Resident memory of executions parked in a one-day Wait state");
    println!("(2-worker runtime; RSS from /proc/self/statm before the first start, once about");
    println!("half had parked, and once all had; each case in a process of its own)\n");
    let mut rows = Vec::new();
    let mut extrapolate = Vec::new();
    for (case, label) in [("memory", "memory store"), ("sqlite", "SQLite file")] {
        let m = measure(case);
        if case == "sqlite" && m.executions < sqlite_target {
            extrapolate.push((label, m.half, m.marginal(), m.executions, m.seconds));
        }
        rows.push((label, m));
    }
    println!(
        "| case | executions | time (rate) | RSS before | RSS at half | RSS after | bytes per execution | bytes per execution, second half |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (label, m) in &rows {
        println!(
            "| {label} | {} | {:.1} s ({:.0}/s) | {:.1} MiB | {:.1} MiB ({}) | {:.1} MiB | {:.0} | {:.0} |",
            m.executions,
            m.seconds,
            m.executions as f64 / m.seconds,
            mib(m.before),
            mib(m.half.1),
            m.half.0,
            mib(m.after),
            m.per_execution(),
            m.marginal(),
        );
    }
    for (label, (half, rss_at_half), marginal, reached, seconds) in extrapolate {
        let rest = sqlite_target.saturating_sub(half) as f64;
        println!(
            "{label}: the deadline stopped the starts at {reached} of {sqlite_target} \
             executions. EXTRAPOLATED linearly from the second half of that run: \
             {sqlite_target} parked executions would take about {:.0} MiB resident (and \
             about {:.0} s to start, at that run's average rate).",
            mib(rss_at_half + (marginal * rest) as u64),
            sqlite_target as f64 * seconds / reached.max(1) as f64,
        );
    }
}
