// The engine suite: histories in Step Functions' vocabulary, handles,
// listings, cancellation, limits, and many executions at once, on tokio's
// paused clock. Included by one test target per store, each defining
// `store()` and `MANY`, how many executions run at once in the test of
// many.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::{EngineBuilder, EngineError, Event, Limits};

fn builder<C: Send + Sync + 'static>(context: C) -> EngineBuilder<C> {
    Engine::builder(context).store(store())
}

fn new_engine<C: Send + Sync + 'static>(context: C) -> Engine<C> {
    builder(context).build()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Fault {
    #[error("busy")]
    Busy,
    #[error("broken")]
    Broken,
}

#[derive(Default)]
pub struct Ops {
    /// Faults the `work` task returns before it succeeds, in order.
    faults: Mutex<Vec<Fault>>,
    dropped: AtomicBool,
    started: AtomicU32,
    /// Callback tokens handed out, in order.
    tokens: Mutex<Vec<String>>,
}

async fn work(cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    cx.started.fetch_add(1, Ordering::SeqCst);
    let fault = {
        let mut faults = cx.faults.lock().unwrap();
        (!faults.is_empty()).then(|| faults.remove(0))
    };
    match fault {
        Some(fault) => Err(fault),
        None => Ok(n * 2),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Broken {
    n: u64,
}

impl From<Caught<u64, Fault>> for Broken {
    fn from(caught: Caught<u64, Fault>) -> Self {
        Broken { n: caught.input }
    }
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Order {
    #[start]
    #[task(work, next = Route)]
    #[retry(on = [Fault::Busy], max_attempts = 2, interval = "1s")]
    #[catch(on = [Fault::Broken], next = Cancelled)]
    Work(u64),

    #[choice(route, next = [Hold, Done])]
    Route(u64),

    #[wait(seconds = 3600, next = Done)]
    Hold(u64),

    #[succeed]
    Done(u64),

    #[fail(error = "Cancelled")]
    Cancelled(Broken),
}

fn route(n: u64) -> order::Route {
    if n > 10 {
        order::Route::Hold(n)
    } else {
        order::Route::Done(n)
    }
}

fn engine(faults: &[Fault]) -> Engine<Ops> {
    let engine = new_engine(Ops {
        faults: Mutex::new(faults.to_vec()),
        ..Ops::default()
    });
    engine.register::<Order>();
    engine
}

/// When the first event of `kind` happened.
fn first_at(history: &[Event], kind: EventKind) -> std::time::SystemTime {
    history
        .iter()
        .find(|e| e.kind == kind)
        .map(|e| e.timestamp)
        .unwrap_or_else(|| panic!("no {kind:?} in {history:?}"))
}

fn kinds(history: &[Event]) -> Vec<(&'static str, Option<&str>)> {
    history
        .iter()
        .map(|e| (e.kind.name(), e.state.as_deref()))
        .collect()
}

fn assert_linked(history: &[Event]) {
    for (i, event) in history.iter().enumerate() {
        assert_eq!(event.id, i as u64 + 1);
        assert_eq!(event.previous_event_id, i as u64);
    }
}

#[tokio::test(start_paused = true)]
async fn a_retried_task_and_a_choice_leave_the_step_functions_history() {
    let engine = engine(&[Fault::Busy]);
    let handle = engine.start::<Order>("order-1", 3).await.unwrap();
    let id = handle.id().to_owned();
    assert_eq!(handle.await, Ok(6));
    let history = engine.history(&id).await.unwrap();
    assert_linked(&history);
    assert_eq!(
        kinds(&history),
        [
            ("ExecutionStarted", None),
            ("TaskStateEntered", Some("Work")),
            ("TaskScheduled", Some("Work")),
            ("TaskStarted", Some("Work")),
            ("TaskFailed", Some("Work")),
            ("TaskScheduled", Some("Work")),
            ("TaskStarted", Some("Work")),
            ("TaskSucceeded", Some("Work")),
            ("TaskStateExited", Some("Work")),
            ("ChoiceStateEntered", Some("Route")),
            ("ChoiceStateExited", Some("Route")),
            ("SucceedStateEntered", Some("Done")),
            ("SucceedStateExited", Some("Done")),
            ("ExecutionSucceeded", None),
        ]
    );
    assert_eq!(history[0].data.as_deref(), Some("3"));
    assert_eq!(
        history[4].data.as_deref(),
        Some(r#"{"cause":"busy","error":"Fault.Busy"}"#)
    );
    assert_eq!(
        history[8].data.as_deref(),
        Some("6"),
        "the next state's input"
    );
    assert_eq!(history[13].data.as_deref(), Some("6"));
    let retry_gap = history[5]
        .timestamp
        .duration_since(history[4].timestamp)
        .unwrap();
    assert_eq!(retry_gap, Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_caught_error_goes_to_the_fail_state() {
    let engine = engine(&[Fault::Broken]);
    let handle = engine.start::<Order>("order-1", 3).await.unwrap();
    let id = handle.id().to_owned();
    let error = handle.await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "Cancelled");
    let history = engine.history(&id).await.unwrap();
    assert_eq!(
        kinds(&history)[4..],
        [
            ("TaskFailed", Some("Work")),
            ("TaskStateExited", Some("Work")),
            ("FailStateEntered", Some("Cancelled")),
            ("ExecutionFailed", None),
        ]
    );
    assert_eq!(history[5].data.as_deref(), Some(r#"{"n":3}"#));
    let description = engine.describe(&id).await.unwrap().unwrap();
    assert_eq!(description.status, Status::Failed);
    assert_eq!(description.state, "Cancelled");
    assert_eq!(description.error.unwrap().name, "Cancelled");
}

#[tokio::test(start_paused = true)]
async fn a_wait_is_described_while_it_runs_and_timed_in_the_history() {
    let engine = engine(&[]);
    let handle = engine.start::<Order>("big", 30).await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    let now = handle.describe().await.unwrap().unwrap();
    assert_eq!((now.status, now.state.as_str()), (Status::Running, "Hold"));
    assert_eq!(now.stopped_at, None);
    let id = handle.id().to_owned();
    assert_eq!(handle.await, Ok(60));
    let history = engine.history(&id).await.unwrap();
    let entered = history
        .iter()
        .find(|e| e.kind == EventKind::WaitStateEntered)
        .unwrap();
    let exited = history
        .iter()
        .find(|e| e.kind == EventKind::WaitStateExited)
        .unwrap();
    assert_eq!(
        exited.timestamp.duration_since(entered.timestamp).unwrap(),
        Duration::from_secs(3600)
    );
    let done = engine.describe(&id).await.unwrap().unwrap();
    assert_eq!(done.status, Status::Succeeded);
    assert_eq!(done.output.as_deref(), Some("60"));
    assert_eq!(now.output, None);
    assert_eq!(
        done.stopped_at
            .unwrap()
            .duration_since(done.started_at)
            .unwrap(),
        Duration::from_secs(3600)
    );
}

#[tokio::test(start_paused = true)]
async fn executions_are_listed_by_workflow_and_status() {
    let engine = engine(&[]);
    let waiting = engine.start::<Order>("waits", 50).await.unwrap();
    let quick = engine.start::<Order>("quick", 1).await.unwrap();
    assert_eq!(quick.await, Ok(2));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let running = engine
        .list(Some("Order"), Some(Status::Running))
        .await
        .unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].name, "waits");
    let succeeded = engine.list(None, Some(Status::Succeeded)).await.unwrap();
    assert_eq!(succeeded.len(), 1);
    assert_eq!(succeeded[0].name, "quick");
    assert_eq!(engine.list(Some("Other"), None).await.unwrap().len(), 0);
    assert_eq!(engine.list(None, None).await.unwrap().len(), 2);
    assert_eq!(waiting.await, Ok(100));
}

#[tokio::test(start_paused = true)]
async fn cancelling_drops_the_running_state_and_records_the_abort() {
    let engine = engine(&[]);
    let handle = engine.start::<Order>("to-cancel", 50).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    handle.cancel().await.unwrap();
    let id = handle.id().to_owned();
    assert_eq!(handle.await, Err(ExecutionError::Aborted));
    let history = engine.history(&id).await.unwrap();
    assert_linked(&history);
    let last = kinds(&history);
    assert_eq!(
        last[last.len() - 2..],
        [
            ("WaitStateEntered", Some("Hold")),
            ("ExecutionAborted", None)
        ]
    );
    assert_eq!(
        engine.describe(&id).await.unwrap().unwrap().status,
        Status::Aborted
    );
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Slow {
    #[start]
    #[task(slow, next = Done)]
    Work(u64),

    #[succeed]
    Done(u64),
}

struct DropFlag<'a>(&'a AtomicBool);

impl Drop for DropFlag<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn slow(cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    let _flag = DropFlag(&cx.dropped);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(n)
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_running_task_drops_its_future() {
    let engine = engine(&[]);
    engine.register::<Slow>();
    let handle = engine.start::<Slow>("slow", 1).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(!engine.context().dropped.load(Ordering::SeqCst));
    handle.cancel().await.unwrap();
    assert_eq!(handle.await, Err(ExecutionError::Aborted));
    assert!(engine.context().dropped.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn events_after_a_handler_are_stamped_when_it_returns() {
    let engine = engine(&[]);
    engine.register::<Slow>();
    let handle = engine.start::<Slow>("stamped", 1).await.unwrap();
    let id = handle.id().to_owned();
    assert_eq!(handle.await, Ok(1));
    let history = engine.history(&id).await.unwrap();
    let at = |kind| first_at(&history, kind);
    let after_start = |kind| at(kind).duration_since(at(EventKind::TaskStarted)).unwrap();
    // The handler sleeps an hour: what is recorded once it returns is an
    // hour later, however the recorder reads its clock.
    let hour = Duration::from_secs(3600);
    assert_eq!(after_start(EventKind::TaskSucceeded), hour);
    assert_eq!(after_start(EventKind::TaskStateExited), hour);
    assert_eq!(after_start(EventKind::ExecutionSucceeded), hour);
    assert_eq!(after_start(EventKind::TaskScheduled), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn start_refuses_unregistered_workflows_and_taken_names() {
    let engine = engine(&[]);
    assert_eq!(
        engine.start::<Slow>("x", 1).await.err(),
        Some(EngineError::NotRegistered("Slow".into()))
    );
    let first = engine.start::<Order>("same", 1).await.unwrap();
    let id = first.id().to_owned();
    assert_eq!(
        engine.start::<Order>("same", 2).await.err(),
        Some(EngineError::NameConflict {
            name: "same".into(),
            existing: id.clone()
        })
    );
    // The same name and input is the same execution: nothing new runs.
    let again = engine.start::<Order>("same", 1).await.unwrap();
    assert_eq!(again.id(), id);
    assert_eq!(first.await, Ok(2));
    assert_eq!(again.await, Ok(2));
    assert_eq!(engine.context().started.load(Ordering::SeqCst), 1);
}

#[test]
fn start_outside_a_runtime_is_a_clear_error() {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let engine = engine(&[]);
    let start = std::pin::pin!(engine.start::<Order>("x", 1));
    // Nothing to wait for before the check: one poll, without any runtime.
    match start.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => assert_eq!(result.err(), Some(EngineError::NoRuntime)),
        Poll::Pending => panic!("start waited for something"),
    }
    // The failed start lost nothing: the next one, on a runtime, still
    // keeps the workflow's definition in the store.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        assert_eq!(engine.start::<Order>("x", 1).await.unwrap().await, Ok(2));
        let kept = engine.store().definitions().await.unwrap();
        assert!(kept.iter().any(|definition| definition.workflow == "Order"));
    });
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Blow {
    #[start]
    #[task(blow_up, next = Done)]
    #[catch(on = [any], next = Recovered)]
    Work(u64),

    #[pass(describe_caught, next = Done)]
    Recovered(Caught<u64, Fault>),

    #[succeed]
    Done(String),
}

fn describe_caught(caught: Caught<u64, Fault>) -> String {
    format!("recovered {}", caught.input)
}

async fn blow_up(_cx: Ctx<'_, Ops>, n: u64) -> Result<String, Fault> {
    Ok("x".repeat(n as usize))
}

#[tokio::test(start_paused = true)]
async fn data_over_the_limit_fails_with_data_limit_exceeded_which_any_does_not_catch() {
    let engine = builder(Ops::default())
        .limits(Limits {
            payload_bytes: 1000,
            ..Limits::default()
        })
        .build();
    engine.register::<Blow>();
    let small = engine.start::<Blow>("small", 10).await.unwrap();
    assert_eq!(small.await.unwrap(), "x".repeat(10));
    let big = engine.start::<Blow>("big", 5000).await.unwrap();
    let id = big.id().to_owned();
    let error = big.await.unwrap_err();
    let failure = error.failure().unwrap();
    assert_eq!(failure.error, "States.DataLimitExceeded");
    assert_eq!(failure.state, "Work");
    let history = engine.history(&id).await.unwrap();
    assert_eq!(history.last().unwrap().kind, EventKind::ExecutionFailed);
    assert!(
        history
            .iter()
            .all(|e| e.state.as_deref() != Some("Recovered"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_full_history_fails_the_execution() {
    let engine = builder(Ops {
        faults: Mutex::new(vec![Fault::Busy, Fault::Busy]),
        ..Ops::default()
    })
    .limits(Limits {
        history_events: 6,
        ..Limits::default()
    })
    .build();
    engine.register::<Order>();
    let handle = engine.start::<Order>("long", 1).await.unwrap();
    let id = handle.id().to_owned();
    let error = handle.await.unwrap_err();
    assert_eq!(
        error.failure().unwrap().error,
        "States.HistoryLimitExceeded"
    );
    let history = engine.history(&id).await.unwrap();
    assert_eq!(history.len(), 7, "six events and the failure");
    assert_eq!(history[6].kind, EventKind::ExecutionFailed);
}

// Ten states, a wait in the middle, so every execution is in flight at once.
#[workflow]
#[derive(Serialize, Deserialize)]
pub enum Ten {
    #[start]
    #[task(add_one, next = S2)]
    S1(u64),
    #[task(add_one, next = S3)]
    S2(u64),
    #[pass(next = S4)]
    S3(u64),
    #[task(add_one, next = S5)]
    S4(u64),
    #[wait(seconds = 60, next = S6)]
    S5(u64),
    #[task(add_one, next = S7)]
    S6(u64),
    #[choice(parity, next = [S8, S9])]
    S7(u64),
    #[task(add_one, next = S9)]
    S8(u64),
    #[task(add_one, next = S10)]
    S9(u64),
    #[succeed]
    S10(u64),
}

async fn add_one(_cx: Ctx<'_, ()>, n: u64) -> Result<u64, Fault> {
    Ok(n + 1)
}

fn parity(n: u64) -> ten::S7 {
    if n.is_multiple_of(2) {
        ten::S7::S8(n)
    } else {
        ten::S7::S9(n)
    }
}

fn expected(n: u64) -> u64 {
    let at_choice = n + 4;
    if at_choice.is_multiple_of(2) {
        at_choice + 2
    } else {
        at_choice + 1
    }
}

#[tokio::test(start_paused = true)]
async fn many_concurrent_executions_all_complete_correctly() {
    let engine = new_engine(());
    engine.register::<Ten>();
    let mut handles = Vec::new();
    for n in 0..MANY {
        handles.push(engine.start::<Ten>(format!("e{n}"), n).await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(30)).await;
    let waiting = engine
        .list(Some("Ten"), Some(Status::Running))
        .await
        .unwrap();
    assert_eq!(waiting.len() as u64, MANY, "all in flight at once");
    assert!(waiting.iter().all(|d| d.state == "S5"));
    for (n, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.await, Ok(expected(n as u64)));
    }
    assert_eq!(
        engine
            .list(None, Some(Status::Succeeded))
            .await
            .unwrap()
            .len() as u64,
        MANY
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_on_a_multi_thread_runtime() {
    // Inputs up to 5 never reach the hour-long wait: this runtime's clock is real.
    let engine = engine(&[]);
    let mut handles = Vec::new();
    for n in 0..1000u64 {
        handles.push(engine.start::<Order>(format!("o{n}"), n % 6).await.unwrap());
    }
    for (n, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.await, Ok((n as u64 % 6) * 2));
    }
    assert_eq!(
        engine
            .list(None, Some(Status::Succeeded))
            .await
            .unwrap()
            .len(),
        1000
    );
}

// Children in the parent's history: branches and map items.
#[workflow(context = Ops)]
pub enum FailsAfterOne {
    #[start]
    #[task(fail_after_one, next = Done)]
    Work(u64),
    #[succeed]
    Done(u64),
}

#[workflow(context = Ops)]
pub enum TakesTen {
    #[start]
    #[task(take_ten, next = Done)]
    Work(u64),
    #[succeed]
    Done(u64),
}

async fn fail_after_one(_cx: Ctx<'_, Ops>, _n: u64) -> Result<u64, Fault> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Err(Fault::Broken)
}

async fn take_ten(_cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    tokio::time::sleep(Duration::from_secs(10)).await;
    Ok(n)
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Fork {
    #[start]
    #[parallel(branches = [FailsAfterOne, TakesTen], next = Done)]
    Split(u64),
    #[succeed]
    Done((u64, u64)),
}

#[tokio::test(start_paused = true)]
async fn a_failed_branch_aborts_its_sibling_in_the_history() {
    let engine = engine(&[]);
    engine.register::<Fork>();
    let handle = engine.start::<Fork>("fork", 1).await.unwrap();
    let id = handle.id().to_owned();
    let error = handle.await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "Fault.Broken");
    let history = engine.history(&id).await.unwrap();
    assert_linked(&history);
    let events: Vec<(&str, Option<&str>)> = history
        .iter()
        .map(|e| (e.kind.name(), e.data.as_deref()))
        .collect();
    assert_eq!(
        events[1..],
        [
            ("ParallelStateEntered", Some("1")),
            ("ParallelStateStarted", None),
            // A branch's start is recorded with its end.
            ("ParallelBranchStarted", Some(r#"{"index":0}"#)),
            (
                "ParallelBranchFailed",
                Some(r#"{"cause":"broken","error":"Fault.Broken","index":0}"#)
            ),
            ("ParallelBranchStarted", Some(r#"{"index":1}"#)),
            ("ParallelBranchAborted", Some(r#"{"index":1}"#)),
            (
                "ParallelStateFailed",
                Some(r#"{"cause":"broken","error":"Fault.Broken"}"#)
            ),
            (
                "ExecutionFailed",
                Some(r#"{"cause":"broken","error":"Fault.Broken"}"#)
            ),
        ]
    );
}

fn three(n: &u64) -> Vec<u64> {
    vec![*n, *n + 1, *n + 2]
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Fan {
    #[start]
    #[map(TakesTen, items = three, max_concurrency = 2, next = Done)]
    Spread(u64),
    #[succeed]
    Done(Vec<u64>),
}

#[tokio::test(start_paused = true)]
async fn map_iterations_are_in_the_history() {
    let engine = engine(&[]);
    engine.register::<Fan>();
    let handle = engine.start::<Fan>("fan", 5).await.unwrap();
    let id = handle.id().to_owned();
    assert_eq!(handle.await, Ok(vec![5, 6, 7]));
    let history = engine.history(&id).await.unwrap();
    assert_linked(&history);
    let names: Vec<&str> = history.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        names,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            // An item's start is recorded with its end, stamped with the
            // time it started.
            "MapIterationStarted",
            "MapIterationSucceeded",
            "MapIterationStarted",
            "MapIterationSucceeded",
            "MapIterationStarted",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded",
        ]
    );
    let third = history
        .iter()
        .filter(|e| e.kind == EventKind::MapIterationStarted)
        .nth(2)
        .unwrap();
    assert_eq!(third.data.as_deref(), Some(r#"{"index":2}"#));
    assert_eq!(
        third
            .timestamp
            .duration_since(history[0].timestamp)
            .unwrap(),
        Duration::from_secs(10),
        "the third item waits for a free slot"
    );
}

// Waits computed from the input, timeouts and heartbeats, in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    at: std::time::SystemTime,
    pause_secs: u64,
}

fn at(plan: &Plan) -> std::time::SystemTime {
    plan.at
}

fn pause(plan: &Plan) -> Duration {
    Duration::from_secs(plan.pause_secs)
}

fn seconds(plan: Plan) -> u64 {
    plan.pause_secs
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Timed {
    #[start]
    #[wait(until = at, next = Pause)]
    Until(Plan),
    #[wait(delay = pause, next = Count)]
    Pause(Plan),
    #[pass(seconds, next = Hang)]
    Count(Plan),
    #[task(hang, next = Done, timeout = "30s", heartbeat = "5s")]
    #[retry(on = [heartbeat_timeout], max_attempts = 1, interval = "1s")]
    Hang(u64),
    #[succeed]
    Done(u64),
}

/// Sleeps `n` seconds without a heartbeat.
async fn hang(_cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    tokio::time::sleep(Duration::from_secs(n)).await;
    Ok(n)
}

fn timed_events(history: &[Event]) -> Vec<(&'static str, Option<&str>, u64)> {
    let start = history[0].timestamp;
    history
        .iter()
        .map(|e| {
            let at = e.timestamp.duration_since(start).unwrap().as_secs();
            (e.kind.name(), e.state.as_deref(), at)
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn until_and_delay_waits_then_a_silent_task_times_out_on_its_heartbeat() {
    let engine = engine(&[]);
    engine.register::<Timed>();
    let plan = Plan {
        at: std::time::SystemTime::now() + Duration::from_secs(100),
        pause_secs: 7,
    };
    let handle = engine.start::<Timed>("timed", plan).await.unwrap();
    let id = handle.id().to_owned();
    let error = handle.await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "States.HeartbeatTimeout");
    let history = engine.history(&id).await.unwrap();
    let events = timed_events(&history);
    // `until` is a wall-clock time taken just before the start, so the
    // first wait ends within a second of 100 s on the engine's clock.
    let until_exit = events.iter().find(|e| e.0 == "WaitStateExited").unwrap().2;
    assert!((99..=100).contains(&until_exit), "{until_exit}");
    let rest: Vec<_> = events
        .iter()
        .skip_while(|e| e.0 != "WaitStateExited")
        .map(|&(kind, state, at)| (kind, state, at - until_exit))
        .collect();
    assert_eq!(
        rest,
        [
            ("WaitStateExited", Some("Until"), 0),
            ("WaitStateEntered", Some("Pause"), 0),
            ("WaitStateExited", Some("Pause"), 7),
            ("PassStateEntered", Some("Count"), 7),
            ("PassStateExited", Some("Count"), 7),
            ("TaskStateEntered", Some("Hang"), 7),
            ("TaskScheduled", Some("Hang"), 7),
            ("TaskStarted", Some("Hang"), 7),
            ("TaskTimedOut", Some("Hang"), 12),
            ("TaskScheduled", Some("Hang"), 13),
            ("TaskStarted", Some("Hang"), 13),
            ("TaskTimedOut", Some("Hang"), 18),
            ("ExecutionFailed", None, 18),
        ]
    );
}

#[workflow(context = Ops, timeout = "10m")]
#[derive(Serialize, Deserialize)]
pub enum Bounded {
    #[start]
    #[wait(duration = "1h", next = Done)]
    Hold(u64),
    #[succeed]
    Done(u64),
}

#[tokio::test(start_paused = true)]
async fn the_execution_timeout_ends_the_history_with_execution_timed_out() {
    let engine = engine(&[]);
    engine.register::<Bounded>();
    let handle = engine.start::<Bounded>("bounded", 1).await.unwrap();
    let id = handle.id().to_owned();
    assert_eq!(
        handle.await,
        Err(ExecutionError::TimedOut {
            after: Duration::from_secs(600)
        })
    );
    let history = engine.history(&id).await.unwrap();
    let events = timed_events(&history);
    assert_eq!(
        events,
        [
            ("ExecutionStarted", None, 0),
            ("WaitStateEntered", Some("Hold"), 0),
            ("ExecutionTimedOut", None, 600),
        ]
    );
    assert_eq!(
        engine.describe(&id).await.unwrap().unwrap().status,
        Status::TimedOut
    );
    // Read back from the store (a handle made after the end, as in another
    // process), the outcome is the same one.
    assert_eq!(
        engine.handle::<Bounded>(id.clone()).await,
        Err(ExecutionError::TimedOut {
            after: Duration::from_secs(600)
        })
    );
}

// A panic outside a handler fails the execution; it does not hang it.
#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Panicky {
    #[start]
    #[choice(explode, next = [Done])]
    Pick(u64),
    #[succeed]
    Done(u64),
}

fn explode(_n: u64) -> panicky::Pick {
    panic!("the choice function broke")
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_a_choice_function_fails_the_execution() {
    let engine = engine(&[]);
    engine.register::<Panicky>();
    let handle = engine.start::<Panicky>("boom", 1).await.unwrap();
    let id = handle.id().to_owned();
    let error = handle.await.unwrap_err();
    assert_eq!(
        error,
        ExecutionError::Crashed {
            message: "the choice function broke".into()
        }
    );
    let described = engine.describe(&id).await.unwrap().unwrap();
    assert_eq!(described.status, Status::Failed);
    let history = engine.history(&id).await.unwrap();
    assert_linked(&history);
    assert_eq!(history.last().unwrap().kind, EventKind::ExecutionFailed);
}

// The same seed and execution name give the same jitter, engine after engine.
#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Jittery {
    #[start]
    #[task(work, next = Done)]
    #[retry(on = [any], max_attempts = 5, interval = "10s", jitter = full)]
    Work(u64),
    #[succeed]
    Done(u64),
}

#[tokio::test(start_paused = true)]
async fn a_seed_repeats_the_jitter_of_an_execution_with_the_same_name() {
    let run = |seed: u64| async move {
        let engine = builder(Ops {
            faults: Mutex::new(vec![Fault::Busy; 4]),
            ..Ops::default()
        })
        .seed(seed)
        .build();
        engine.register::<Jittery>();
        let handle = engine.start::<Jittery>("same-name", 1).await.unwrap();
        let id = handle.id().to_owned();
        handle.await.unwrap();
        let history = engine.history(&id).await.unwrap();
        let starts: Vec<_> = history
            .iter()
            .filter(|e| e.kind == EventKind::TaskStarted)
            .map(|e| e.timestamp)
            .collect();
        starts
            .windows(2)
            .map(|w| w[1].duration_since(w[0]).unwrap())
            .collect::<Vec<_>>()
    };
    let first = run(42).await;
    assert_eq!(first.len(), 4);
    assert_eq!(run(42).await, first);
    assert_ne!(run(7).await, first);
}

#[tokio::test(start_paused = true)]
async fn long_waits_park_out_of_memory_and_resume_on_time() {
    let engine = engine(&[]);
    let mut handles = Vec::new();
    for n in 0..1000u64 {
        // Inputs over 5 double past 10: Route sends them to the hour-long Hold.
        let input = 6 + n % 5;
        handles.push(engine.start::<Order>(format!("p{n}"), input).await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(engine.active_tasks(), 0, "parked: no task, no future, per execution");
    let waiting = engine
        .list(Some("Order"), Some(Status::Running))
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1000);
    assert!(
        waiting
            .iter()
            .all(|d| d.state == "Hold" && d.wake_at.is_some())
    );
    let id = handles[0].id().to_owned();
    for (n, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.await, Ok((6 + n as u64 % 5) * 2));
    }
    let history = engine.history(&id).await.unwrap();
    assert_linked(&history);
    let at = |kind| first_at(&history, kind);
    assert_eq!(
        at(EventKind::WaitStateExited)
            .duration_since(at(EventKind::WaitStateEntered))
            .unwrap(),
        Duration::from_secs(3600),
        "resumed by the timer exactly when due"
    );
}

#[tokio::test(start_paused = true)]
async fn the_engine_forgets_parked_and_ended_executions_nobody_awaits() {
    let engine = engine(&[]);
    let mut parked = Vec::new();
    for n in 0..200u64 {
        // Inputs over 5 park in the hour-long Hold; the others end at once.
        let handle = engine.start::<Order>(format!("f{n}"), n % 10).await.unwrap();
        if n % 10 > 5 {
            parked.push(handle);
        } else {
            assert_eq!(handle.await, Ok((n % 10) * 2));
        }
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(engine.active_tasks(), 0);
    assert_eq!(engine.executions_in_memory(), 0, "parked or ended, unawaited");

    // A handle that gives up waiting leaves nothing behind either.
    let id = parked[0].id().to_owned();
    let gave_up =
        tokio::time::timeout(Duration::from_secs(1), engine.handle::<Order>(id.clone())).await;
    assert!(gave_up.is_err(), "still parked");
    assert_eq!(engine.executions_in_memory(), 0);

    // One that waits is kept, and gets the outcome when the timer resumes it.
    let waiter = tokio::spawn(std::future::IntoFuture::into_future(
        engine.handle::<Order>(id),
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(engine.executions_in_memory(), 1, "awaited while parked");
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(waiter.await.unwrap(), Ok(12));
    for handle in parked {
        handle.await.unwrap();
    }
    assert_eq!(engine.executions_in_memory(), 0, "all ended");
}

// Callback tasks: a token handed out, completed from outside.
async fn await_bank(cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    cx.tokens.lock().unwrap().push(cx.callback_token());
    match cx.callback::<u64>().await {
        Ok(paid) => Ok(n + paid),
        Err(workflow::CallbackError::Failed { .. }) => Err(Fault::Broken),
        Err(_) => Err(Fault::Busy),
    }
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Pay {
    #[start]
    #[task(await_bank, next = Done, timeout = "1h", heartbeat = "2s")]
    Waiting(u64),
    #[succeed]
    Done(u64),
}

async fn token_of(engine: &Engine<Ops>) -> String {
    tokio::time::sleep(Duration::from_millis(500)).await;
    engine.context().tokens.lock().unwrap()[0].clone()
}

#[tokio::test(start_paused = true)]
async fn a_callback_task_waits_for_its_token_to_be_completed() {
    let engine = engine(&[]);
    engine.register::<Pay>();
    let handle = engine.start::<Pay>("pay", 1).await.unwrap();
    let token = token_of(&engine).await;
    assert_eq!(handle.describe().await.unwrap().unwrap().state, "Waiting");
    engine.complete_task(&token, 41u64).await.unwrap();
    assert_eq!(handle.await, Ok(42));
}

#[tokio::test(start_paused = true)]
async fn the_first_callback_answer_is_the_one_the_task_gets_and_a_late_one_is_refused() {
    let engine = engine(&[]);
    engine.register::<Pay>();
    let handle = engine.start::<Pay>("pay", 1).await.unwrap();
    let token = token_of(&engine).await;
    engine.complete_task(&token, 41u64).await.unwrap();
    // A retry of the same answer is no error; a different one is refused,
    // and changes nothing.
    engine.complete_task(&token, 41u64).await.unwrap();
    assert_eq!(
        engine.complete_task(&token, 99u64).await,
        Err(EngineError::AlreadyAnswered(token.clone()))
    );
    assert_eq!(
        engine.fail_task(&token, "Late", "too late").await,
        Err(EngineError::AlreadyAnswered(token.clone()))
    );
    assert_eq!(handle.await, Ok(42));
}

#[tokio::test(start_paused = true)]
async fn a_failed_callback_fails_the_task() {
    let engine = engine(&[]);
    engine.register::<Pay>();
    let handle = engine.start::<Pay>("pay", 1).await.unwrap();
    let token = token_of(&engine).await;
    engine
        .fail_task(&token, "Declined", "the card was declined")
        .await
        .unwrap();
    let error = handle.await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "Fault.Broken");
}

#[tokio::test(start_paused = true)]
async fn callback_heartbeats_keep_a_task_alive_and_silence_times_it_out() {
    let engine = engine(&[]);
    engine.register::<Pay>();
    let alive = engine.start::<Pay>("alive", 1).await.unwrap();
    let token = token_of(&engine).await;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        engine.heartbeat_task(&token).await.unwrap();
    }
    engine.complete_task(&token, 1u64).await.unwrap();
    assert_eq!(alive.await, Ok(2), "5 s of heartbeats, past the 2 s heartbeat interval");

    let started = tokio::time::Instant::now();
    let silent = engine.start::<Pay>("silent", 1).await.unwrap();
    let error = silent.await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "States.HeartbeatTimeout");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

// Map iterations count against the history limit too: the execution fails
// with HistoryLimitExceeded at its next event, and does not run on.
fn forty(_: &u64) -> Vec<u64> {
    (0..40).collect()
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Wide {
    #[start]
    #[map(TakesTen, items = forty, max_concurrency = 0, next = Done)]
    Spread(u64),
    #[succeed]
    Done(Vec<u64>),
}

#[tokio::test(start_paused = true)]
async fn map_iterations_count_against_the_history_limit() {
    let engine = builder(Ops::default())
        .limits(Limits {
            history_events: 50,
            ..Limits::default()
        })
        .build();
    engine.register::<Wide>();
    let handle = engine.start::<Wide>("wide", 0).await.unwrap();
    let id = handle.id().to_owned();
    let error = handle.await.unwrap_err();
    let failure = error.failure().unwrap();
    assert_eq!(
        (failure.state.as_str(), failure.error.as_str()),
        ("Spread", "States.HistoryLimitExceeded")
    );
    let history = engine.history(&id).await.unwrap();
    assert_linked(&history);
    assert_eq!(history.last().unwrap().kind, EventKind::ExecutionFailed);
    assert!(
        history.iter().all(|e| e.kind != EventKind::MapStateSucceeded),
        "the map did not go on past the limit"
    );
}

// Stopping an engine: gracefully at the next checkpoint, or at once.
async fn nap(_cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(n + 1)
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum TwoNaps {
    #[start]
    #[task(nap, next = Second)]
    First(u64),

    #[task(nap, next = Done)]
    Second(u64),

    #[succeed]
    Done(u64),
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_a_running_step_reach_its_checkpoint_and_lets_the_execution_go() {
    let engine = engine(&[]);
    engine.register::<TwoNaps>();
    let handle = engine.start::<TwoNaps>("naps", 1).await.unwrap();
    let id = handle.id().to_owned();
    let waiter = tokio::spawn(handle.into_future());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = engine.shutdown(Duration::from_secs(10)).await.unwrap();
    assert_eq!(report.cut_short, 0, "the step finished within the grace period");
    assert_eq!(engine.active_tasks(), 0);
    // The first nap's result is written, and the execution waits in the
    // store at the second for whoever takes it next.
    let stored = engine.describe(&id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.state.as_str()), (Status::Running, "Second"));
    let history = engine.history(&id).await.unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.kind == workflow::EventKind::TaskSucceeded && e.state.as_deref() == Some("First"))
    );
    assert_eq!(waiter.await.unwrap(), Err(ExecutionError::ShuttingDown));
    assert_eq!(
        engine.start::<TwoNaps>("later", 1).await.err(),
        Some(EngineError::Stopped)
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_cuts_short_a_step_that_outlasts_the_grace_period() {
    let engine = engine(&[]);
    engine.register::<TwoNaps>();
    let handle = engine.start::<TwoNaps>("naps", 1).await.unwrap();
    let id = handle.id().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = engine.shutdown(Duration::from_millis(500)).await.unwrap();
    assert_eq!(report.cut_short, 1);
    let stored = engine.describe(&id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.state.as_str()), (Status::Running, "First"));
    assert_eq!(handle.await, Err(ExecutionError::ShuttingDown));
}

#[tokio::test(start_paused = true)]
async fn halt_resolves_waiting_handles_and_refuses_new_starts() {
    let engine = engine(&[]);
    engine.register::<TwoNaps>();
    let handle = engine.start::<TwoNaps>("naps", 1).await.unwrap();
    let waiter = tokio::spawn(handle.into_future());
    tokio::time::sleep(Duration::from_millis(500)).await;
    engine.halt();
    assert_eq!(waiter.await.unwrap(), Err(ExecutionError::Halted));
    assert_eq!(
        engine.start::<TwoNaps>("later", 1).await.err(),
        Some(EngineError::Stopped)
    );
    assert_eq!(engine.recover().await.err(), Some(EngineError::Stopped));
}

include!("purge.rs");
include!("callbacks.rs");

#[tokio::test(start_paused = true)]
async fn executions_are_addressed_by_the_name_they_were_started_under() {
    let engine = engine(&[]);
    let first = engine.start::<Order>("order-7", 5).await.unwrap();
    assert!(first.is_new());
    let again = engine.start::<Order>("order-7", 5).await.unwrap();
    assert!(!again.is_new(), "found, not created");
    assert_eq!(again.id(), first.id());
    let described = engine.describe("order-7").await.unwrap().unwrap();
    assert_eq!(described.id, first.id());
    assert_eq!(
        engine.history("order-7").await.unwrap(),
        engine.history(first.id()).await.unwrap()
    );
    let found = engine.find_handle::<Order>("order-7").await.unwrap().unwrap();
    assert_eq!(found.id(), first.id());
    assert_eq!(found.await, Ok(10));
    assert!(engine.find_handle::<Order>("order-8").await.unwrap().is_none());
    assert_eq!(engine.describe("order-8").await.unwrap(), None);
    assert!(matches!(
        engine.history("order-8").await,
        Err(EngineError::Store(workflow::store::StoreError::NotFound(_)))
    ));
    // Cancelled by name: 6 doubles to 12, which waits an hour.
    let waiting = engine.start::<Order>("order-9", 6).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    engine.cancel_execution("order-9").await.unwrap();
    assert_eq!(waiting.await, Err(ExecutionError::Aborted));
}
