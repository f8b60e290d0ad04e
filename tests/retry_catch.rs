//! Retry and catch semantics, exactly as the README states them, on tokio's
//! paused clock: delays are measured between attempts, to the nanosecond.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use workflow::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    #[error("busy")]
    Busy,
    #[error("flaky")]
    Flaky,
    #[error("broken")]
    Broken,
}

/// What each attempt does, in order; past the end, attempts succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Fail(Fault),
    Sleep(u64),
    Panic,
    Silent(u64),
    Beat {
        every: u64,
        times: u32,
    },
    /// Beats every second `times` times, then goes silent for a minute.
    BeatThenSilent {
        times: u32,
    },
}

#[derive(Default)]
pub struct Script {
    acts: Vec<Act>,
    attempts: Mutex<Vec<(Instant, u32, String)>>,
}

impl Script {
    fn new(acts: &[Act]) -> Self {
        Script {
            acts: acts.to_vec(),
            attempts: Mutex::default(),
        }
    }

    fn times(&self) -> Vec<Instant> {
        self.attempts.lock().unwrap().iter().map(|a| a.0).collect()
    }

    fn gaps(&self) -> Vec<Duration> {
        self.times().windows(2).map(|w| w[1] - w[0]).collect()
    }

    fn attempt_numbers(&self) -> Vec<u32> {
        self.attempts.lock().unwrap().iter().map(|a| a.1).collect()
    }

    fn keys(&self) -> Vec<String> {
        self.attempts
            .lock()
            .unwrap()
            .iter()
            .map(|a| a.2.clone())
            .collect()
    }
}

/// The scripted task every workflow below uses.
async fn act(cx: Ctx<'_, Script>, input: u32) -> Result<u32, Fault> {
    let n = {
        let mut attempts = cx.attempts.lock().unwrap();
        attempts.push((
            Instant::now(),
            cx.attempt(),
            cx.idempotency_key().to_string(),
        ));
        attempts.len() - 1
    };
    match cx.acts.get(n).copied() {
        None => Ok(input + 1),
        Some(Act::Fail(fault)) => Err(fault),
        Some(Act::Sleep(secs)) => {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            Ok(input + 1)
        }
        Some(Act::Panic) => panic!("the scripted task panicked"),
        Some(Act::Silent(secs)) => {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            Ok(input + 1)
        }
        Some(Act::BeatThenSilent { times }) => {
            for _ in 0..times {
                tokio::time::sleep(Duration::from_secs(1)).await;
                cx.heartbeat();
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(input + 1)
        }
        Some(Act::Beat { every, times }) => {
            for _ in 0..times {
                tokio::time::sleep(Duration::from_secs(every)).await;
                cx.heartbeat();
            }
            Ok(input + 1)
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Recovered {
    input: u32,
    error: String,
    timed_out: bool,
}

impl From<Caught<u32, Fault>> for Recovered {
    fn from(caught: Caught<u32, Fault>) -> Self {
        Recovered {
            input: caught.input,
            error: caught.error.to_string(),
            timed_out: caught.error.is_timeout(),
        }
    }
}

fn secs(s: &[f64]) -> Vec<Duration> {
    s.iter().map(|&x| Duration::from_secs_f64(x)).collect()
}

// Backoff, max_delay, and the attempt number seen by the handler.
#[workflow(context = Script)]
pub enum Backoff {
    #[start]
    #[task(act, next = Done)]
    #[retry(on = [Fault::Busy], max_attempts = 5, interval = "1s", backoff = 2.0, max_delay = "5s")]
    Work(u32),
    #[succeed]
    Done(u32),
}

#[tokio::test(start_paused = true)]
async fn delays_grow_by_backoff_and_stop_at_max_delay() {
    let script = Script::new(&[Act::Fail(Fault::Busy); 5]);
    assert_eq!(Backoff::run(&script, 1).await.unwrap(), 2);
    assert_eq!(script.gaps(), secs(&[1.0, 2.0, 4.0, 5.0, 5.0]));
    assert_eq!(script.attempt_numbers(), [1, 2, 3, 4, 5, 6]);
    let keys = script.keys();
    assert!(
        keys.iter().all(|k| *k == keys[0]),
        "one key for all attempts: {keys:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_spent_retrier_fails_the_execution_with_the_error() {
    let script = Script::new(&[Act::Fail(Fault::Busy); 6]);
    let error = Backoff::run(&script, 1).await.unwrap_err();
    let failure = error.failure().unwrap();
    assert_eq!(
        (
            failure.state.as_str(),
            failure.error.as_str(),
            failure.cause.as_str()
        ),
        ("Work", "Fault.Busy", "busy")
    );
    assert_eq!(script.times().len(), 6);
}

#[tokio::test(start_paused = true)]
async fn an_error_no_retrier_names_is_not_retried() {
    let script = Script::new(&[Act::Fail(Fault::Flaky)]);
    let error = Backoff::run(&script, 1).await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "Fault.Flaky");
    assert_eq!(script.times().len(), 1);
}

// Defaults: interval 1 s, backoff 2, max_attempts 3; and max_attempts = 0.
#[workflow(context = Script)]
pub enum Defaults {
    #[start]
    #[task(act, next = Done)]
    #[retry(on = [Fault::Flaky], max_attempts = 0)]
    #[retry(on = [any])]
    Work(u32),
    #[succeed]
    Done(u32),
}

#[tokio::test(start_paused = true)]
async fn defaults_are_one_second_doubling_three_times() {
    let script = Script::new(&[Act::Fail(Fault::Busy); 3]);
    assert_eq!(Defaults::run(&script, 0).await.unwrap(), 1);
    assert_eq!(script.gaps(), secs(&[1.0, 2.0, 4.0]));
    let script = Script::new(&[Act::Fail(Fault::Busy); 4]);
    assert!(Defaults::run(&script, 0).await.is_err());
    assert_eq!(script.times().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn max_attempts_zero_never_retries_and_the_first_match_decides() {
    // Flaky matches the first retrier, which allows no retry; the `any`
    // retrier after it is not consulted.
    let script = Script::new(&[Act::Fail(Fault::Flaky)]);
    let error = Defaults::run(&script, 0).await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "Fault.Flaky");
    assert_eq!(script.times().len(), 1);
}

// Each retrier counts its own attempts, across all the errors it matches.
#[workflow(context = Script)]
pub enum Counting {
    #[start]
    #[task(act, next = Done)]
    #[retry(on = [Fault::Busy, Fault::Flaky], max_attempts = 3, interval = "1s", backoff = 3.0)]
    #[retry(on = [Fault::Broken], max_attempts = 2, interval = "10s", backoff = 1.0)]
    #[catch(on = [any], next = Recover)]
    Work(u32),
    #[succeed]
    Done(u32),
    #[fail(error = "Recovered")]
    Recover(Recovered),
}

#[tokio::test(start_paused = true)]
async fn each_retrier_counts_across_the_errors_it_matches() {
    use Act::Fail;
    use Fault::*;
    // Busy and Flaky share the first retrier's budget of 3; Broken has its
    // own budget of 2 and its own schedule.
    let script = Script::new(&[
        Fail(Busy),
        Fail(Broken),
        Fail(Flaky),
        Fail(Broken),
        Fail(Busy),
    ]);
    assert_eq!(Counting::run(&script, 5).await.unwrap(), 6);
    // Retrier 1: 1 s, 3 s, 9 s for its 1st, 2nd, 3rd retry; retrier 2: 10 s, 10 s.
    assert_eq!(script.gaps(), secs(&[1.0, 10.0, 3.0, 10.0, 9.0]));
    assert_eq!(script.attempt_numbers(), [1, 2, 3, 4, 5, 6]);
}

#[tokio::test(start_paused = true)]
async fn when_the_matching_retrier_is_spent_the_catchers_decide() {
    use Act::Fail;
    use Fault::*;
    let script = Script::new(&[Fail(Busy), Fail(Flaky), Fail(Busy), Fail(Flaky)]);
    let error = Counting::run(&script, 5).await.unwrap_err();
    let failure = error.failure().unwrap();
    assert_eq!(
        (failure.state.as_str(), failure.error.as_str()),
        ("Recover", "Recovered")
    );
    let recovered = Recovered {
        input: 5,
        error: "flaky".into(),
        timed_out: false,
    };
    assert_eq!(failure.cause, format!("{recovered:?}"));
    assert_eq!(script.times().len(), 4, "1 attempt and 3 retries");
}

// Catchers are tried in order; the first that matches routes.
#[workflow(context = Script)]
pub enum Routing {
    #[start]
    #[task(act, next = Done, timeout = "3s")]
    #[catch(on = [Fault::Busy], next = OnBusy)]
    #[catch(on = [timeout, Fault::Flaky], next = OnTimeoutOrFlaky)]
    #[catch(on = [task_failed], next = OnOther)]
    Work(u32),
    #[succeed]
    Done(u32),
    #[fail(error = "Busy")]
    OnBusy(Recovered),
    #[fail(error = "TimeoutOrFlaky")]
    OnTimeoutOrFlaky(Recovered),
    #[fail(error = "Other", cause = "something else")]
    OnOther(Caught<u32, Fault>),
}

async fn route_of(acts: &[Act]) -> (String, String) {
    let script = Script::new(acts);
    let error = Routing::run(&script, 1).await.unwrap_err();
    let failure = error.failure().unwrap().clone();
    (failure.error, failure.cause)
}

#[tokio::test(start_paused = true)]
async fn catchers_route_by_error_in_order() {
    assert_eq!(route_of(&[Act::Fail(Fault::Busy)]).await.0, "Busy");
    assert_eq!(
        route_of(&[Act::Fail(Fault::Flaky)]).await.0,
        "TimeoutOrFlaky"
    );
    assert_eq!(route_of(&[Act::Fail(Fault::Broken)]).await.0, "Other");
    assert_eq!(
        route_of(&[Act::Panic]).await.0,
        "Other",
        "a panic is a task failure"
    );
    let (name, cause) = route_of(&[Act::Sleep(10)]).await;
    assert_eq!(name, "TimeoutOrFlaky");
    assert!(cause.contains("timed_out: true"), "{cause}");
}

#[tokio::test(start_paused = true)]
async fn a_task_that_finishes_in_time_is_not_timed_out() {
    let script = Script::new(&[Act::Sleep(2)]);
    assert_eq!(Routing::run(&script, 1).await.unwrap(), 2);
}

// task_failed does not match a timeout; timeout bounds each attempt alone.
#[workflow(context = Script)]
pub enum Timeouts {
    #[start]
    #[task(act, next = Done, timeout = "3s")]
    #[retry(on = [task_failed], max_attempts = 2, interval = "1s")]
    Work(u32),
    #[succeed]
    Done(u32),
}

#[tokio::test(start_paused = true)]
async fn task_failed_does_not_match_a_timeout() {
    let script = Script::new(&[Act::Sleep(10)]);
    let started = Instant::now();
    let error = Timeouts::run(&script, 1).await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "States.Timeout");
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!(script.times().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn task_failed_retries_panics_and_errors() {
    let script = Script::new(&[Act::Panic, Act::Fail(Fault::Broken)]);
    assert_eq!(Timeouts::run(&script, 1).await.unwrap(), 2);
    assert_eq!(script.gaps(), secs(&[1.0, 2.0]));
}

#[tokio::test(start_paused = true)]
async fn a_panic_fails_the_execution_with_task_failed() {
    let script = Script::new(&[Act::Panic, Act::Panic, Act::Panic]);
    let error = Timeouts::run(&script, 1).await.unwrap_err();
    let failure = error.failure().unwrap();
    assert_eq!(failure.error, "States.TaskFailed");
    assert_eq!(failure.cause, "the scripted task panicked");
}

// Heartbeats: the gap between two heartbeats is bounded.
#[workflow(context = Script)]
pub enum Heartbeats {
    #[start]
    #[task(act, next = Done, timeout = "60s", heartbeat = "2s")]
    #[retry(on = [timeout], max_attempts = 1, interval = "1s")]
    Work(u32),
    #[succeed]
    Done(u32),
}

#[tokio::test(start_paused = true)]
async fn a_task_that_beats_in_time_runs_past_the_heartbeat_interval() {
    let script = Script::new(&[Act::Beat {
        every: 1,
        times: 10,
    }]);
    let started = Instant::now();
    assert_eq!(Heartbeats::run(&script, 1).await.unwrap(), 2);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
}

#[tokio::test(start_paused = true)]
async fn a_silent_task_times_out_on_its_heartbeat_which_timeout_matches() {
    // As States.Timeout in Step Functions, `timeout` covers heartbeats too:
    // the one retry runs, and times out the same way.
    let script = Script::new(&[Act::Silent(30), Act::Silent(30)]);
    let started = Instant::now();
    let error = Heartbeats::run(&script, 1).await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "States.HeartbeatTimeout");
    assert_eq!(started.elapsed(), Duration::from_secs(2 + 1 + 2));
    assert_eq!(script.times().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_task_that_stops_beating_fails_two_seconds_after_its_last_beat() {
    let script = Script::new(&[Act::BeatThenSilent { times: 3 }; 2]);
    let started = Instant::now();
    let error = Heartbeats::run(&script, 1).await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "States.HeartbeatTimeout");
    // Each attempt beats at 1, 2 and 3 s and fails 2 s after its last beat;
    // the retry waits 1 s between them.
    assert_eq!(script.gaps(), [Duration::from_secs(5 + 1)]);
    assert_eq!(started.elapsed(), Duration::from_secs(5 + 1 + 5));
}

// Full jitter draws each delay from [0, delay]; a seed makes it repeatable.
#[workflow(context = Script)]
pub enum Jittered {
    #[start]
    #[task(act, next = Done)]
    #[retry(on = [any], max_attempts = 8, interval = "1s", backoff = 2.0, max_delay = "20s", jitter = full)]
    Work(u32),
    #[succeed]
    Done(u32),
}

#[tokio::test(start_paused = true)]
async fn full_jitter_stays_within_bounds_and_a_seed_repeats_it() {
    let run = |seed| async move {
        let script = Script::new(&[Act::Fail(Fault::Busy); 8]);
        Runner::new()
            .seed(seed)
            .run::<Jittered>(&script, 0)
            .await
            .unwrap();
        script.gaps()
    };
    let first = run(42).await;
    let caps = secs(&[1.0, 2.0, 4.0, 8.0, 16.0, 20.0, 20.0, 20.0]);
    for (gap, cap) in first.iter().zip(&caps) {
        assert!(gap <= cap, "{gap:?} > {cap:?}");
    }
    assert!(
        first.iter().zip(&caps).any(|(g, c)| g < c),
        "jitter drew something"
    );
    assert_eq!(run(42).await, first);
    assert_ne!(run(43).await, first);
}

// A workflow-level timeout bounds the whole execution.
#[workflow(context = Script, timeout = "30m")]
pub enum Bounded {
    #[start]
    #[wait(duration = "1h", next = Work)]
    Hold(u32),
    #[task(act, next = Done)]
    Work(u32),
    #[succeed]
    Done(u32),
}

#[tokio::test(start_paused = true)]
async fn the_execution_timeout_stops_a_long_wait() {
    let script = Script::new(&[]);
    let started = Instant::now();
    let error = Bounded::run(&script, 0).await.unwrap_err();
    assert_eq!(
        error,
        ExecutionError::TimedOut {
            after: Duration::from_secs(1800)
        }
    );
    assert_eq!(started.elapsed(), Duration::from_secs(1800));
    assert!(script.times().is_empty());
}

// A loop of states that never await still gives tokio the thread back now
// and then (the driver consumes its cooperative budget), so the workflow's
// timeout fires and other tasks on the thread run. Real time: a paused clock
// only advances while the runtime is idle, and a busy loop never idles it.
#[workflow(timeout = "50ms")]
pub enum Spin {
    #[start]
    #[choice(spin_again, next = [Around, Out])]
    Turn(u64),
    #[pass(next = Turn)]
    Around(u64),
    #[succeed]
    Out(u64),
}

fn spin_again(n: u64) -> spin::Turn {
    if n == u64::MAX {
        spin::Turn::Out(n)
    } else {
        spin::Turn::Around(n + 1)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_loop_of_states_that_never_await_still_yields_and_times_out() {
    let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let ticker = tokio::spawn({
        let ticks = ticks.clone();
        async move {
            loop {
                ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        }
    });
    let error = Spin::run(&(), 0).await.unwrap_err();
    ticker.abort();
    assert_eq!(
        error,
        ExecutionError::TimedOut {
            after: Duration::from_millis(50)
        }
    );
    assert!(
        ticks.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the other task ran meanwhile"
    );
}

// Retry counters and idempotency keys belong to one entry of a state.
#[workflow(context = Script)]
pub enum Loop {
    #[start]
    #[task(act, next = Check)]
    #[retry(on = [Fault::Busy], max_attempts = 1, interval = "1s")]
    Work(u32),
    #[choice(again, next = [Work, Done])]
    Check(u32),
    #[succeed]
    Done(u32),
}

fn again(n: u32) -> r#loop::Check {
    if n < 3 {
        r#loop::Check::Work(n)
    } else {
        r#loop::Check::Done(n)
    }
}

#[tokio::test(start_paused = true)]
async fn counters_reset_and_keys_change_on_each_entry() {
    use Act::Fail;
    use Fault::Busy;
    // Each entry of Work may retry once, so a Busy in each entry is fine.
    let script = Script::new(&[
        Fail(Busy),
        Act::Sleep(0),
        Fail(Busy),
        Act::Sleep(0),
        Fail(Busy),
    ]);
    let output = Runner::new()
        .execution_id("exec-1")
        .run::<Loop>(&script, 0)
        .await
        .unwrap();
    assert_eq!(output, 3);
    assert_eq!(
        script.keys(),
        [
            "exec-1/Work/0",
            "exec-1/Work/0",
            "exec-1/Work/2",
            "exec-1/Work/2",
            "exec-1/Work/4",
            "exec-1/Work/4"
        ]
    );
    // Had the counter not reset, the second entry's Busy would have failed.
    assert_eq!(script.attempt_numbers(), [1, 2, 1, 2, 1, 2]);
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;
validate_exports!(
    Backoff, Defaults, Counting, Routing, Timeouts, Heartbeats, Jittered, Bounded, Loop
);
