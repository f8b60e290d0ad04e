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


include!("history_of_children.rs");
include!("timing.rs");
include!("lifecycle.rs");
include!("purge.rs");
include!("callbacks.rs");
