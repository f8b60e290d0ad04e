//! The 10-state machine of `benches/common/ten.rs` (nine tasks that each add
//! 1 to a `u64`, then a terminal state) written with each peer crate, in one
//! criterion group, `peers_10_states`:
//!
//! - `statig`: a `#[state_machine]` impl, one `#[state]` per state, the
//!   number as state-local storage, one `Step` event per transition;
//! - `rust_fsm`: the `state_machine!` DSL as a Mealy machine, one `Step`
//!   input per transition whose `Add` output the caller applies (rust-fsm's
//!   states carry no data);
//! - `smlang`: the `statemachine!` DSL, the number as state data, one
//!   `step` action per transition that returns the next state's data;
//! - `workflow_inline`: our `Ten::run(&(), n)` on a current-thread tokio
//!   runtime, as in `benches/inline.rs` (async, with retry/catch/timeout
//!   bookkeeping the peers do not have);
//! - `hand_written`: a plain synchronous `match` loop, the baseline.
//!
//! The peers are synchronous; `workflow_inline` pays for `block_on` and an
//! async driver on every run. Each run enters 10 states (the start state and
//! 9 transitions), and the throughput is set to 10 elements per run, the count
//! `benches/durable.rs` uses, so criterion's "elem/s" reads as states entered
//! (transitions, counting the start) per second.
//!
//! ```text
//! cargo bench -p workflow-benches --bench peers
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use workflow::prelude::*;

#[path = "common/ten.rs"]
mod ten;

use ten::Ten;

/// States entered per run: the start state and nine transitions.
const STATES: u64 = 10;

/// The work every task does, for the synchronous implementations.
fn add_one(n: u64) -> u64 {
    black_box(n) + 1
}

/// The baseline: a hand-written enum and a synchronous `match` loop.
mod hand {
    pub enum State {
        Task(u8, u64),
        Done(u64),
    }

    pub fn run(n: u64) -> u64 {
        let mut state = State::Task(1, n);
        loop {
            state = match state {
                State::Task(i, n) => {
                    let out = super::add_one(n);
                    if i == 9 {
                        State::Done(out)
                    } else {
                        State::Task(i + 1, out)
                    }
                }
                State::Done(n) => return n,
            }
        }
    }
}

/// statig: a hierarchical state machine crate; here flat, with the number
/// as state-local storage of each state.
mod with_statig {
    use statig::prelude::*;

    /// The shared storage: nothing; the number lives in the states.
    #[derive(Default)]
    pub struct Ten;

    /// The one event: run the current state's task.
    pub struct Step;

    #[state_machine(initial = "State::s1(0)")]
    impl Ten {
        #[state]
        fn s1(n: &mut u64, event: &Step) -> Outcome<State> {
            let Step = event;
            Transition(State::s2(super::add_one(*n)))
        }
        #[state]
        fn s2(n: &mut u64, event: &Step) -> Outcome<State> {
            let Step = event;
            Transition(State::s3(super::add_one(*n)))
        }
        #[state]
        fn s3(n: &mut u64, event: &Step) -> Outcome<State> {
            let Step = event;
            Transition(State::s4(super::add_one(*n)))
        }
        #[state]
        fn s4(n: &mut u64, event: &Step) -> Outcome<State> {
            let Step = event;
            Transition(State::s5(super::add_one(*n)))
        }
        #[state]
        fn s5(n: &mut u64, event: &Step) -> Outcome<State> {
            let Step = event;
            Transition(State::s6(super::add_one(*n)))
        }
        #[state]
        fn s6(n: &mut u64, event: &Step) -> Outcome<State> {
            let Step = event;
            Transition(State::s7(super::add_one(*n)))
        }
        #[state]
        fn s7(n: &mut u64, event: &Step) -> Outcome<State> {
            let Step = event;
            Transition(State::s8(super::add_one(*n)))
        }
        #[state]
        fn s8(n: &mut u64, event: &Step) -> Outcome<State> {
            let Step = event;
            Transition(State::s9(super::add_one(*n)))
        }
        #[state]
        fn s9(n: &mut u64, event: &Step) -> Outcome<State> {
            let Step = event;
            Transition(State::s10(super::add_one(*n)))
        }
        /// Terminal: every further event is handled without a transition.
        #[state]
        fn s10(n: &mut u64, event: &Step) -> Outcome<State> {
            let (_, Step) = (n, event);
            Handled
        }
    }

    pub fn run(n: u64) -> u64 {
        // The initial state is a constant expression; the input goes into
        // it before the machine is initialized.
        let mut machine = Ten.uninitialized_state_machine();
        *machine.state_mut() = State::s1(n);
        let mut machine = machine.init();
        for _ in 0..9 {
            machine.handle(&Step);
        }
        match machine.state() {
            State::S10 { n } => *n,
            _ => unreachable!("nine steps end in S10"),
        }
    }
}

/// rust-fsm: a Mealy machine; states and inputs are data-less enums, and an
/// output tells the caller what to do with its own data.
mod with_rust_fsm {
    use rust_fsm::state_machine;

    state_machine! {
        ten(S1)

        S1(Step) => S2 [Add],
        S2(Step) => S3 [Add],
        S3(Step) => S4 [Add],
        S4(Step) => S5 [Add],
        S5(Step) => S6 [Add],
        S6(Step) => S7 [Add],
        S7(Step) => S8 [Add],
        S8(Step) => S9 [Add],
        S9(Step) => S10 [Add],
    }

    pub fn run(mut n: u64) -> u64 {
        let mut machine = ten::StateMachine::new();
        for _ in 0..9 {
            match machine.consume(&ten::Input::Step) {
                Ok(Some(ten::Output::Add)) => n = super::add_one(n),
                Ok(None) | Err(_) => unreachable!("every step adds"),
            }
        }
        debug_assert!(matches!(machine.state(), ten::State::S10));
        n
    }
}

/// smlang: a Boost-SML-style DSL; the number is each state's data and one
/// action, run on every transition, computes the next state's data.
mod with_smlang {
    use smlang::statemachine;

    statemachine! {
        transitions: {
            *S1(u64) + Step / step = S2,
            S2(u64) + Step / step = S3,
            S3(u64) + Step / step = S4,
            S4(u64) + Step / step = S5,
            S5(u64) + Step / step = S6,
            S6(u64) + Step / step = S7,
            S7(u64) + Step / step = S8,
            S8(u64) + Step / step = S9,
            S9(u64) + Step / step = S10(u64),
        }
    }

    /// The context: nothing; the number lives in the states.
    pub struct Context;

    impl StateMachineContext for Context {
        fn step(&mut self, n: &u64) -> Result<u64, ()> {
            Ok(super::add_one(*n))
        }
    }

    pub fn run(n: u64) -> u64 {
        let mut machine = StateMachine::new(Context, n);
        for _ in 0..9 {
            let _ = machine.process_event(Events::Step);
        }
        match machine.state() {
            States::S10(n) => *n,
            _ => unreachable!("nine steps end in S10"),
        }
    }
}

fn peers(c: &mut Criterion) {
    // Every implementation computes the same thing.
    for run in [
        hand::run,
        with_statig::run,
        with_rust_fsm::run,
        with_smlang::run,
    ] {
        assert_eq!(run(1), 10);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    assert_eq!(runtime.block_on(Ten::run(&(), 1)), Ok(10));

    let mut group = c.benchmark_group("peers_10_states");
    group.throughput(Throughput::Elements(STATES));
    group.bench_function("hand_written", |b| b.iter(|| hand::run(black_box(1))));
    group.bench_function("statig", |b| b.iter(|| with_statig::run(black_box(1))));
    group.bench_function("rust_fsm", |b| b.iter(|| with_rust_fsm::run(black_box(1))));
    group.bench_function("smlang", |b| b.iter(|| with_smlang::run(black_box(1))));
    group.bench_function("workflow_inline", |b| {
        b.iter(|| runtime.block_on(Ten::run(&(), black_box(1))))
    });
    group.finish();
}

criterion_group!(benches, peers);
criterion_main!(benches);
