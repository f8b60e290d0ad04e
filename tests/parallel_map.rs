//! Parallel and Map states: fail-fast with siblings dropped, outputs in
//! order, max_concurrency measured by a counter, tolerated failures, and
//! retry and catch on both. Paused clock throughout.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use workflow::prelude::*;
// A matcher may name the variant alone; it is still the variant of `Fault`.
use Fault::Bad;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    #[error("bad item {0}")]
    Bad(u32),
    #[error("the lab is busy")]
    Busy,
}

#[derive(Default)]
pub struct Lab {
    running: AtomicUsize,
    most_at_once: AtomicUsize,
    finished: Mutex<Vec<u32>>,
    dropped: Mutex<Vec<u32>>,
    /// Items whose task fails.
    bad: Vec<u32>,
    /// Map attempts, to show retries of the whole state.
    map_entries: AtomicUsize,
}

/// Marks an item as dropped unless it finished.
struct Running<'a> {
    lab: &'a Lab,
    item: u32,
    done: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.lab.running.fetch_sub(1, Ordering::SeqCst);
        if !self.done {
            self.lab.dropped.lock().unwrap().push(self.item);
        }
    }
}

/// Takes `item` seconds; fails at the end if the item is bad.
async fn process(cx: Ctx<'_, Lab>, item: u32) -> Result<u32, Fault> {
    let now = cx.running.fetch_add(1, Ordering::SeqCst) + 1;
    cx.most_at_once.fetch_max(now, Ordering::SeqCst);
    let mut guard = Running {
        lab: cx.context(),
        item,
        done: false,
    };
    tokio::time::sleep(Duration::from_secs(u64::from(item))).await;
    guard.done = true;
    cx.finished.lock().unwrap().push(item);
    if cx.bad.contains(&item) {
        return Err(Fault::Bad(item));
    }
    Ok(item * 10)
}

#[workflow(context = Lab)]
pub enum Item {
    #[start]
    #[task(process, next = Done)]
    Work(u32),
    #[succeed]
    Done(u32),
}

fn lab(bad: &[u32]) -> Lab {
    Lab {
        bad: bad.to_vec(),
        ..Lab::default()
    }
}

// ---------------------------------------------------------------- parallel

#[workflow(context = Lab)]
pub enum Fast {
    #[start]
    #[task(shift_1, next = Done)]
    Work(u32),
    #[succeed]
    Done(u32),
}

#[workflow(context = Lab)]
pub enum Slow {
    #[start]
    #[task(shift_5, next = Done)]
    Work(u32),
    #[succeed]
    Done(u32),
}

async fn shift_1(cx: Ctx<'_, Lab>, base: u32) -> Result<u32, Fault> {
    process(cx, base + 1).await
}

async fn shift_5(cx: Ctx<'_, Lab>, base: u32) -> Result<u32, Fault> {
    process(cx, base + 5).await
}

#[workflow(context = Lab)]
pub enum Both {
    #[start]
    #[parallel(branches = [Fast, Slow], next = Done)]
    Split(u32),
    #[succeed]
    Done((u32, u32)),
}

#[tokio::test(start_paused = true)]
async fn branches_start_together_and_outputs_come_as_a_tuple() {
    let lab = lab(&[]);
    let started = Instant::now();
    assert_eq!(Both::run(&lab, 0).await, Ok((10, 50)));
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(5),
        "1 s and 5 s side by side"
    );
    assert_eq!(lab.most_at_once.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn the_first_failure_cancels_the_other_branches_and_is_the_error() {
    let lab = lab(&[1]);
    let started = Instant::now();
    let error = Both::run(&lab, 0).await.unwrap_err();
    let failure = error.failure().unwrap();
    assert_eq!(
        (failure.state.as_str(), failure.error.as_str()),
        ("Split", "Fault.Bad")
    );
    assert_eq!(failure.cause, "bad item 1");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1),
        "no waiting for the slow branch"
    );
    assert_eq!(
        *lab.dropped.lock().unwrap(),
        [5],
        "the slow branch was dropped"
    );
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rescued {
    input: u32,
    error: String,
}

impl From<Caught<u32, ExecutionError>> for Rescued {
    fn from(caught: Caught<u32, ExecutionError>) -> Self {
        Rescued {
            input: caught.input,
            error: caught.error.to_string(),
        }
    }
}

#[workflow(context = Lab)]
pub enum Guarded {
    #[start]
    #[parallel(branches = [Fast, Slow], next = Done)]
    #[retry(on = [Fault::Bad], max_attempts = 1, interval = "10s")]
    #[catch(on = [task_failed], next = Rescue)]
    Split(u32),
    #[succeed]
    Done((u32, u32)),
    #[fail(error = "Rescued")]
    Rescue(Rescued),
}

#[tokio::test(start_paused = true)]
async fn a_parallel_state_retries_by_error_name_then_catches() {
    let lab = lab(&[1]);
    let started = Instant::now();
    let error = Guarded::run(&lab, 0).await.unwrap_err();
    let failure = error.failure().unwrap();
    assert_eq!(failure.error, "Rescued");
    assert!(failure.cause.contains("input: 0"), "{}", failure.cause);
    assert!(failure.cause.contains("Fault.Bad"), "{}", failure.cause);
    // Attempt (1 s), retry delay (10 s), attempt (1 s).
    assert_eq!(started.elapsed(), Duration::from_secs(12));
    assert_eq!(*lab.dropped.lock().unwrap(), [5, 5]);
}

// --------------------------------------------------------------------- map

fn items(count: &u32) -> Vec<u32> {
    (1..=*count).collect()
}

/// Slowest first, so items finish in the reverse of their order.
fn slowest_first(count: &u32) -> Vec<u32> {
    (1..=*count).rev().collect()
}

#[workflow(context = Lab)]
pub enum Batch {
    #[start]
    #[map(Item, items = slowest_first, max_concurrency = 3, next = Done)]
    Fan(u32),
    #[succeed]
    Done(Vec<u32>),
}

#[tokio::test(start_paused = true)]
async fn map_outputs_come_in_item_order_with_at_most_max_concurrency_at_once() {
    let lab = lab(&[]);
    let started = Instant::now();
    let output = Batch::run(&lab, 10).await.unwrap();
    assert_eq!(output, (1..=10).rev().map(|i| i * 10).collect::<Vec<_>>());
    assert_eq!(lab.most_at_once.load(Ordering::SeqCst), 3);
    let finished = lab.finished.lock().unwrap().clone();
    assert_eq!(
        finished[..3],
        [8, 9, 10],
        "the first three finish quickest first"
    );
    // A freed slot is reused at once, whatever the item's position: 10, 9, 8
    // start at 0 s; 7, 6, 5 at 8, 9, 10 s and end at 15 s; 4, 3, 2 start at
    // 15 s, 1 at 17 s; the last ends at 19 s. Slots held until the items
    // before them finish would take longer.
    assert_eq!(started.elapsed(), Duration::from_secs(19));
}

#[workflow(context = Lab)]
pub enum Unlimited {
    #[start]
    #[map(Item, items = items, max_concurrency = 0, next = Done)]
    Fan(u32),
    #[succeed]
    Done(Vec<u32>),
}

#[tokio::test(start_paused = true)]
async fn max_concurrency_zero_runs_every_item_at_once() {
    let lab = lab(&[]);
    let started = Instant::now();
    Unlimited::run(&lab, 50).await.unwrap();
    assert_eq!(lab.most_at_once.load(Ordering::SeqCst), 50);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(50),
        "as long as the slowest item"
    );
}

#[tokio::test(start_paused = true)]
async fn the_first_item_failure_fails_the_map_and_drops_the_rest() {
    let lab = lab(&[2]);
    let error = Batch::run(&lab, 10).await.unwrap_err();
    let failure = error.failure().unwrap();
    assert_eq!(
        (failure.state.as_str(), failure.error.as_str()),
        ("Fan", "Fault.Bad")
    );
    let dropped = lab.dropped.lock().unwrap().clone();
    assert!(!dropped.is_empty(), "items in flight were cancelled");
    assert!(lab.finished.lock().unwrap().len() < 10);
}

#[workflow(context = Lab)]
pub enum Tolerant {
    #[start]
    #[map(Item, items = items, max_concurrency = 4, tolerated_failures = 2, next = Done)]
    Fan(u32),
    #[succeed]
    Done(Vec<Result<u32, ExecutionError>>),
}

#[tokio::test(start_paused = true)]
async fn tolerated_failures_by_count() {
    let lab = lab(&[3, 7]);
    let output = Tolerant::run(&lab, 8).await.unwrap();
    let failed: Vec<usize> = output
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, [2, 6]);
    assert_eq!(output[0], Ok(10));

    let lab = lab_with(&[1, 3, 7]);
    let error = Tolerant::run(&lab, 8).await.unwrap_err();
    let failure = error.failure().unwrap();
    assert_eq!(failure.error, "States.ExceedToleratedFailureThreshold");
    assert_eq!(failure.cause, "3 of 8 items failed");
}

fn lab_with(bad: &[u32]) -> Lab {
    lab(bad)
}

#[workflow(context = Lab)]
pub enum Share {
    #[start]
    #[map(Item, items = items, tolerated_failure_percentage = 25.0, next = Done)]
    Fan(u32),
    #[succeed]
    Done(Vec<Result<u32, ExecutionError>>),
}

#[tokio::test(start_paused = true)]
async fn tolerated_failures_by_percentage() {
    assert!(Share::run(&lab(&[1, 2]), 8).await.is_ok(), "2 of 8 is 25 %");
    let error = Share::run(&lab(&[1, 2, 3]), 8).await.unwrap_err();
    assert_eq!(
        error.failure().unwrap().error,
        "States.ExceedToleratedFailureThreshold"
    );
}

async fn count_entry(cx: Ctx<'_, Lab>, n: u32) -> Result<u32, Fault> {
    cx.map_entries.fetch_add(1, Ordering::SeqCst);
    Ok(n)
}

#[workflow(context = Lab)]
pub enum RetriedMap {
    #[start]
    #[task(count_entry, next = Fan)]
    Count(u32),
    #[map(Item, items = items, max_concurrency = 2, next = Done)]
    #[retry(on = [any], max_attempts = 2, interval = "1m")]
    #[catch(on = [Fault::Bad], next = Gave)]
    Fan(u32),
    #[succeed]
    Done(Vec<u32>),
    #[fail(error = "GaveUp", cause = "the map kept failing")]
    Gave(Caught<u32, ExecutionError>),
}

#[tokio::test(start_paused = true)]
async fn a_map_state_is_retried_whole_then_caught_by_error_name() {
    let lab = lab(&[1]);
    let started = Instant::now();
    let error = RetriedMap::run(&lab, 4).await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "GaveUp");
    assert_eq!(
        lab.map_entries.load(Ordering::SeqCst),
        1,
        "the task before it ran once"
    );
    // Three attempts of 1 s each (item 1 fails first), two delays: 60 s, 120 s.
    assert_eq!(started.elapsed(), Duration::from_secs(3 + 60 + 120));
}

// ------------------------------------------------------ typed matchers

/// Fails every item with `Fault::Busy`, after a second.
async fn busy(_cx: Ctx<'_, Lab>, _item: u32) -> Result<u32, Fault> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Err(Fault::Busy)
}

#[workflow(context = Lab)]
pub enum BusyItem {
    #[start]
    #[task(busy, next = Done)]
    Work(u32),
    #[succeed]
    Done(u32),
}

/// Its branches fail with `Fault::Bad`: the retrier on another variant of
/// the same type must not fire, the catcher on `Bad` must.
#[workflow(context = Lab)]
pub enum Picky {
    #[start]
    #[parallel(branches = [Fast, Slow], next = Done)]
    #[retry(on = [Fault::Busy], max_attempts = 3, interval = "10s")]
    #[catch(on = [Bad], next = Rescue)]
    Split(u32),
    #[succeed]
    Done((u32, u32)),
    #[fail(error = "Rescued")]
    Rescue(Rescued),
}

#[tokio::test(start_paused = true)]
async fn a_parallel_state_matches_the_variant_its_branch_failed_with_and_no_other() {
    let lab = lab(&[1]);
    let started = Instant::now();
    let error = Picky::run(&lab, 0).await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "Rescued");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1),
        "caught after the first attempt: the retrier on `Fault::Busy` did not fire"
    );
}

/// Its items fail with `Fault::Busy`: the retrier on it must fire, the
/// catcher on `Fault::Bad` must not.
#[workflow(context = Lab)]
pub enum BusyMap {
    #[start]
    #[map(BusyItem, items = items, next = Done)]
    #[retry(on = [Fault::Busy], max_attempts = 1, interval = "10s")]
    #[catch(on = [Fault::Bad], next = Gave)]
    Fan(u32),
    #[succeed]
    Done(Vec<u32>),
    #[fail(error = "GaveUp", cause = "the map kept failing")]
    Gave(Caught<u32, ExecutionError>),
}

#[tokio::test(start_paused = true)]
async fn a_map_state_matches_the_variant_its_items_failed_with_and_no_other() {
    let lab = lab(&[]);
    let started = Instant::now();
    let error = BusyMap::run(&lab, 2).await.unwrap_err();
    assert_eq!(
        error.failure().unwrap().error,
        "Fault.Busy",
        "not caught by the catcher on `Fault::Bad`"
    );
    // An attempt (1 s), the retry delay (10 s), the retry (1 s).
    assert_eq!(started.elapsed(), Duration::from_secs(12));
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;
validate_exports!(
    Item, Fast, Slow, Both, Guarded, Batch, Unlimited, Tolerant, Share, RetriedMap, BusyItem,
    Picky, BusyMap
);
