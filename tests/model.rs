//! Random failure schedules through a task with two retriers and two
//! catchers, on the engine, checked against a reference model of the retry
//! and catch rules written here from the README, independently of the runtime.

use std::sync::Mutex;
use std::time::Duration;

use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use workflow::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum E {
    #[error("a")]
    A,
    #[error("b")]
    B,
    #[error("c")]
    C,
    #[error("d")]
    D,
}

/// What one attempt does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Fail(E),
    /// Runs past the 5 s timeout.
    Hang,
    Panic,
}

pub struct Script(Mutex<Vec<Outcome>>);

async fn act(_cx: Ctx<'_, Script>, n: u32) -> Result<u32, E> {
    let outcome = {
        let mut script = _cx.0.lock().unwrap();
        if script.is_empty() {
            Outcome::Ok
        } else {
            script.remove(0)
        }
    };
    match outcome {
        Outcome::Ok => Ok(n + 1),
        Outcome::Fail(e) => Err(e),
        Outcome::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(n + 1)
        }
        Outcome::Panic => panic!("scripted panic"),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note(String);

impl From<Caught<u32, E>> for Note {
    fn from(caught: Caught<u32, E>) -> Self {
        Note(caught.error.to_string())
    }
}

#[workflow(context = Script)]
#[derive(Serialize, Deserialize)]
pub enum Modelled {
    #[start]
    #[task(act, next = Done, timeout = "5s")]
    #[retry(on = [E::A], max_attempts = 2, interval = "1s", backoff = 2.0)]
    #[retry(on = [E::B, timeout], max_attempts = 3, interval = "2s", backoff = 1.5, max_delay = "3s")]
    #[catch(on = [E::C], next = OnC)]
    #[catch(on = [task_failed], next = OnOther)]
    Work(u32),
    #[succeed]
    Done(u32),
    #[fail(error = "C")]
    OnC(Note),
    #[fail(error = "Other")]
    OnOther(Note),
}

/// How an execution ends, in the model's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Succeeded,
    Failed(String),
}

/// The reference model: the retry and catch rules of the README, by hand.
fn model(schedule: &[Outcome]) -> (End, usize, Duration) {
    // Retriers: (matches, max_attempts, interval s, backoff, max_delay s).
    type Retrier = (fn(Outcome) -> bool, u32, f64, f64, Option<f64>);
    let retriers: [Retrier; 2] = [
        (|o| o == Outcome::Fail(E::A), 2, 1.0, 2.0, None),
        (
            |o| matches!(o, Outcome::Fail(E::B) | Outcome::Hang),
            3,
            2.0,
            1.5,
            Some(3.0),
        ),
    ];
    let mut used = [0u32; 2];
    let mut elapsed = 0.0;
    let mut attempts = 0;
    let mut outcomes = schedule
        .iter()
        .copied()
        .chain(std::iter::repeat(Outcome::Ok));
    loop {
        let outcome = outcomes.next().unwrap_or(Outcome::Ok);
        attempts += 1;
        if outcome == Outcome::Hang {
            elapsed += 5.0;
        }
        if outcome == Outcome::Ok {
            return (End::Succeeded, attempts, Duration::from_secs_f64(elapsed));
        }
        // The first retrier that matches decides.
        if let Some(r) = retriers.iter().position(|r| (r.0)(outcome))
            && used[r] < retriers[r].1
        {
            used[r] += 1;
            let (_, _, interval, backoff, cap) = retriers[r];
            let mut delay = interval * backoff.powi(used[r] as i32 - 1);
            if let Some(cap) = cap {
                delay = delay.min(cap);
            }
            elapsed += delay;
            continue;
        }
        // Then the catchers, in order; task_failed is everything but a timeout.
        let end = if outcome == Outcome::Fail(E::C) {
            End::Failed("C".into())
        } else if outcome != Outcome::Hang {
            End::Failed("Other".into())
        } else {
            End::Failed("States.Timeout".into())
        };
        return (end, attempts, Duration::from_secs_f64(elapsed));
    }
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Ok),
        Just(Outcome::Fail(E::A)),
        Just(Outcome::Fail(E::B)),
        Just(Outcome::Fail(E::C)),
        Just(Outcome::Fail(E::D)),
        Just(Outcome::Hang),
        Just(Outcome::Panic),
    ]
}

async fn engine_run(schedule: Vec<Outcome>) -> (End, usize, Duration) {
    let engine = Engine::new(Script(Mutex::new(schedule)));
    engine.register::<Modelled>();
    let started = tokio::time::Instant::now();
    let handle = engine.start::<Modelled>("run", 1).await.unwrap();
    let id = handle.id().to_owned();
    let end = match handle.await {
        Ok(2) => End::Succeeded,
        Ok(other) => panic!("unexpected output {other}"),
        Err(error) => End::Failed(error.failure().expect("a failure").error.clone()),
    };
    let attempts = engine
        .history(&id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == EventKind::TaskStarted)
        .count();
    (end, attempts, started.elapsed())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_agrees_with_the_reference_model(schedule in proptest::collection::vec(outcome(), 0..10)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        let actual = runtime.block_on(engine_run(schedule.clone()));
        prop_assert_eq!(actual, model(&schedule));
    }
}

#[test]
fn the_model_itself_on_a_known_schedule() {
    use Outcome::*;
    // A, A (retrier 1 spent: 1 s, 2 s), A -> no retry left -> caught by task_failed.
    let (end, attempts, elapsed) = model(&[Fail(E::A), Fail(E::A), Fail(E::A)]);
    assert_eq!(
        (end, attempts, elapsed),
        (End::Failed("Other".into()), 3, Duration::from_secs(3))
    );
    // Hang (5 s) then B: retrier 2 twice (2 s, 3 s), then success.
    let (end, attempts, elapsed) = model(&[Hang, Fail(E::B)]);
    assert_eq!(
        (end, attempts, elapsed),
        (End::Succeeded, 3, Duration::from_secs(10))
    );
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;
validate_exports!(Modelled);
