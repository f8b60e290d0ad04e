//! Every kind of state in one workflow: task, choice, pass with and without a
//! function, wait by seconds, duration, until and delay, parallel, map (with
//! a concurrency limit, and with tolerated failures by count and by
//! percentage), succeed, and fail with and without a cause.

#![deny(warnings)]

use std::time::{Duration, SystemTime};

use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
pub struct Oops;

#[workflow]
pub enum Kinds {
    #[start]
    #[task(begin, next = Decide)]
    Begin(u32),

    #[choice(decide, next = [Plain, Compute, Reject, Refuse])]
    Decide(u32),

    #[pass(next = Compute)]
    Plain(u32),

    #[pass(double, next = WaitSeconds)]
    Compute(u32),

    #[wait(seconds = 5, next = WaitDuration)]
    WaitSeconds(u64),

    #[wait(duration = "1h 30m", next = WaitUntil)]
    WaitDuration(u64),

    #[wait(until = deadline, next = WaitDelay)]
    WaitUntil(u64),

    #[wait(delay = delay_of, next = FanOut)]
    WaitDelay(u64),

    #[parallel(branches = [Square, Halve], next = Spread)]
    FanOut(u64),

    #[map(Square, items = items_of, max_concurrency = 4, next = Tolerant)]
    Spread((u64, u64)),

    #[map(Square, items = count_to, tolerated_failures = 2, next = Percent)]
    Tolerant(Vec<u64>),

    #[map(Halve, items = results_of, tolerated_failure_percentage = 12.5, next = Done)]
    Percent(Vec<Result<u64, ExecutionError>>),

    #[succeed]
    Done(Vec<Result<u64, ExecutionError>>),

    #[fail(error = "Rejected", cause = "the number was odd")]
    Reject(u32),

    #[fail(error = "Refused")]
    Refuse(u32),
}

#[workflow]
pub enum Square {
    #[start]
    #[task(square, next = Squared)]
    Squaring(u64),
    #[succeed]
    Squared(u64),
}

#[workflow]
pub enum Halve {
    #[start]
    #[pass(halve, next = Halved)]
    Halving(u64),
    #[succeed]
    Halved(u64),
}

async fn begin(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, Oops> {
    Ok(n)
}

fn decide(n: u32) -> kinds::Decide {
    match n % 4 {
        0 => kinds::Decide::Plain(n),
        1 => kinds::Decide::Compute(n),
        2 => kinds::Decide::Reject(n),
        _ => kinds::Decide::Refuse(n),
    }
}

fn double(n: u32) -> u64 {
    u64::from(n) * 2
}

fn deadline(_: &u64) -> SystemTime {
    SystemTime::UNIX_EPOCH
}

fn delay_of(n: &u64) -> Duration {
    Duration::from_millis(*n)
}

fn items_of(pair: &(u64, u64)) -> Vec<u64> {
    vec![pair.0, pair.1]
}

fn count_to(items: &Vec<u64>) -> Vec<u64> {
    items.clone()
}

fn results_of(results: &Vec<Result<u64, ExecutionError>>) -> Vec<u64> {
    results.iter().filter_map(|r| r.as_ref().ok().copied()).collect()
}

async fn square(_cx: Ctx<'_, ()>, n: u64) -> Result<u64, Oops> {
    Ok(n * n)
}

fn halve(n: u64) -> u64 {
    n / 2
}

fn main() {
    fn assert_workflow<W: Workflow<Input = u32, Output = Vec<Result<u64, ExecutionError>>>>() {}
    assert_workflow::<Kinds>();
}
