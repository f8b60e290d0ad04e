//! The peer of the durable SQLite benchmark (`durable.rs`): `apalis` on its
//! SQLite storage, `apalis-sqlite` 1.0, run by the program in
//! benches/apalis (a workspace of its own: see its Cargo.toml for why),
//! which `WORKFLOW_BENCH_APALIS` names.
//!
//! One job stands for one transition: each adds one to its number, as each
//! of the engine's tasks does, and apalis stores its result as the engine
//! commits each transition. The program pushes the jobs in one batch and
//! runs one worker on a 2-thread runtime (as the engine's), which fetches
//! `MAX_BATCH` jobs per query (the most the store's group commit puts in
//! one transaction) and runs up to `EXECUTIONS` at once (the engine has
//! every execution in flight), on a file in a temporary directory beside
//! the engine's, with the store's pragmas (WAL, `synchronous = NORMAL`).
//! Its time runs from the first push to the last result written, as the
//! engine's from its first start to its last execution's end; the
//! processing alone is printed too.
//!
//! The number of jobs: `EXECUTIONS` (10,000), not one per transition
//! (100,000), unless `WORKFLOW_BENCH_APALIS_JOBS` says otherwise.
//! apalis-sqlite's time grows with the square of the jobs (see
//! benches/apalis/src/main.rs for why): 10,000 take minutes, 100,000 would
//! take hours. Its jobs per second at 10,000 are then more than it would
//! reach at 100,000: the comparison leans its way. Run once, after the
//! criterion group, for the same reason.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::{EXECUTIONS, MAX_BATCH};

const PROGRAM: &str = "WORKFLOW_BENCH_APALIS";
const JOBS: &str = "WORKFLOW_BENCH_APALIS_JOBS";

/// One run of the program: its push and processing times.
fn run(program: &str, jobs: u64) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("apalis.db");
    let output = Command::new(program)
        .arg(&path)
        .args([jobs, MAX_BATCH as u64, EXECUTIONS].map(|n| n.to_string()))
        .stderr(Stdio::inherit())
        .output()
        .expect("runs apalis-bench");
    assert!(output.status.success(), "apalis-bench failed");
    let line = String::from_utf8(output.stdout).expect("text");
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("apalis-bench printed no {name}: {line}"))
    };
    assert_eq!(field("jobs"), jobs.to_string(), "apalis-bench's job count");
    let seconds =
        |name: &str| Duration::from_secs_f64(field(name).parse().expect("apalis-bench's seconds"));
    (seconds("push_seconds"), seconds("process_seconds"))
}

/// apalis-sqlite's run, once, beside `ours` (the engine's transitions per
/// second on SQLite in this run, if it ran): printed, with lines for
/// scripts/bench to read.
pub fn peer(ours: Option<f64>) {
    let program = match std::env::var(PROGRAM) {
        Ok(program) if !program.is_empty() => program,
        _ => {
            eprintln!(
                "durable: apalis-sqlite left out: {PROGRAM} names no apalis-bench program \
                 (scripts/bench builds benches/apalis and names it)"
            );
            return;
        }
    };
    let jobs = std::env::var(JOBS)
        .ok()
        .map(|jobs| jobs.parse().expect("a number of jobs"))
        .unwrap_or(EXECUTIONS);
    let (push, process) = run(&program, jobs);
    let total = push + process;
    let per_second = jobs as f64 / total.as_secs_f64();
    println!(
        "apalis-sqlite, {jobs} jobs (one worker, {MAX_BATCH} per fetch, up to {EXECUTIONS} at \
         once): push {:.2} s, processing {:.2} s, {per_second:.0} jobs/s from the first push \
         ({:.0} jobs/s processing alone)",
        push.as_secs_f64(),
        process.as_secs_f64(),
        jobs as f64 / process.as_secs_f64(),
    );
    if let Some(ours) = ours {
        println!(
            "durable SQLite: ours {ours:.0} transitions/s, apalis-sqlite {per_second:.0} \
             jobs/s: {:.2}x",
            ours / per_second
        );
    }
    println!("durable_apalis_jobs={jobs}");
    println!("durable_apalis_jobs_per_second={per_second:.1}");
}
