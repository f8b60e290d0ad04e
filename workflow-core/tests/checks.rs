//! Unit tests of `workflow_core::check` on hand-built definitions.
//!
//! Every case asserts the exact problems (state, locus and kind), in the order
//! `check` reports them: name problems, then per-state problems in declaration
//! order, then graph problems.

use std::borrow::Cow;
use std::time::Duration;

use workflow_core::{
    Catcher, Definition, ErrorMatcher, Jitter, Kind, Locus, Problem, ProblemKind, Retrier, State,
    Tolerance, Transition, WaitFor, check,
};

// ---------------------------------------------------------------------------
// Builders
// ---------------------------------------------------------------------------

fn def(start: &str, states: Vec<State>) -> Definition {
    Definition {
        name: "Test".into(),
        start: start.to_owned().into(),
        timeout: None,
        states: Cow::Owned(states),
    }
}

fn state(name: &str, kind: Kind) -> State {
    State {
        name: name.to_owned().into(),
        data: "()".into(),
        kind,
        retry: Cow::Owned(vec![]),
        catch: Cow::Owned(vec![]),
    }
}

fn transition(next: Option<&str>) -> Transition {
    match next {
        Some(name) => Transition::Next(name.to_owned().into()),
        None => Transition::End,
    }
}

fn names(list: &[&str]) -> Cow<'static, [Cow<'static, str>]> {
    Cow::Owned(list.iter().map(|s| (*s).to_owned().into()).collect())
}

/// A task going to `next`.
fn task(name: &str, next: &str) -> State {
    timed_task(name, Some(next), None, None)
}

/// A task that ends the execution.
fn task_end(name: &str) -> State {
    timed_task(name, None, None, None)
}

fn timed_task(
    name: &str,
    next: Option<&str>,
    timeout: Option<Duration>,
    heartbeat: Option<Duration>,
) -> State {
    state(
        name,
        Kind::Task {
            handler: "handler".into(),
            next: transition(next),
            timeout,
            heartbeat,
        },
    )
}

fn choice(name: &str, targets: &[&str]) -> State {
    state(
        name,
        Kind::Choice {
            handler: "choose".into(),
            targets: names(targets),
        },
    )
}

fn pass(name: &str, next: &str) -> State {
    state(
        name,
        Kind::Pass {
            handler: None,
            next: next.to_owned().into(),
        },
    )
}

fn wait(name: &str, next: &str) -> State {
    state(
        name,
        Kind::Wait {
            wait: WaitFor::Seconds(5),
            next: next.to_owned().into(),
        },
    )
}

fn parallel(name: &str, branches: &[&str], next: Option<&str>) -> State {
    state(
        name,
        Kind::Parallel {
            branches: names(branches),
            next: transition(next),
        },
    )
}

fn map(name: &str, percentage: Option<f64>, next: Option<&str>) -> State {
    state(
        name,
        Kind::Map {
            workflow: "Item".into(),
            items: "items".into(),
            max_concurrency: 4,
            tolerance: Tolerance {
                count: None,
                percentage,
            },
            next: transition(next),
        },
    )
}

fn succeed(name: &str) -> State {
    state(name, Kind::Succeed)
}

fn fail(name: &str) -> State {
    state(
        name,
        Kind::Fail {
            error: "Failed".into(),
            cause: None,
        },
    )
}

fn retrier(on: Vec<ErrorMatcher>) -> Retrier {
    backoff_retrier(on, Retrier::DEFAULT_BACKOFF)
}

fn backoff_retrier(on: Vec<ErrorMatcher>, backoff: f64) -> Retrier {
    Retrier {
        on: Cow::Owned(on),
        max_attempts: Retrier::DEFAULT_MAX_ATTEMPTS,
        interval: Retrier::DEFAULT_INTERVAL,
        backoff,
        max_delay: None,
        jitter: Jitter::None,
    }
}

fn catcher(on: Vec<ErrorMatcher>, next: &str) -> Catcher {
    Catcher {
        on: Cow::Owned(on),
        next: next.to_owned().into(),
    }
}

fn with_retry(mut state: State, retry: Vec<Retrier>) -> State {
    state.retry = Cow::Owned(retry);
    state
}

fn with_catch(mut state: State, catch: Vec<Catcher>) -> State {
    state.catch = Cow::Owned(catch);
    state
}

fn named(error: &str) -> ErrorMatcher {
    ErrorMatcher::Named(error.to_owned().into())
}

fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

/// The expected problem on a state.
fn at(state: &str, locus: Locus, kind: ProblemKind) -> Problem {
    Problem {
        state: Some(state.to_owned()),
        locus,
        kind,
    }
}

fn unknown_target(target: &str, suggestion: Option<&str>) -> ProblemKind {
    ProblemKind::UnknownTarget {
        target: target.to_owned(),
        suggestion: suggestion.map(str::to_owned),
    }
}

fn unreachable(state: &str) -> Problem {
    at(state, Locus::State, ProblemKind::Unreachable)
}

fn no_way_to_end(state: &str) -> Problem {
    at(state, Locus::State, ProblemKind::NoWayToEnd)
}

fn pass_cycle(cycle: &[&str]) -> Problem {
    at(
        cycle[0],
        Locus::Next,
        ProblemKind::PassCycle {
            cycle: cycle.iter().map(|s| (*s).to_owned()).collect(),
        },
    )
}

fn wrong_kind(state: &str, policy: &'static str, kind: &'static str) -> Problem {
    let locus = if policy == "retry" {
        Locus::Retrier(0)
    } else {
        Locus::Catcher(0)
    };
    at(
        state,
        locus,
        ProblemKind::PolicyOnWrongKind { policy, kind },
    )
}

// ---------------------------------------------------------------------------
// Sound definitions
// ---------------------------------------------------------------------------

#[test]
fn a_sound_definition_with_every_kind_has_no_problems() {
    let start = with_catch(
        with_retry(
            timed_task("Reserve", Some("Route"), secs(30), secs(10)),
            vec![
                retrier(vec![ErrorMatcher::TaskFailed, ErrorMatcher::Timeout]),
                backoff_retrier(vec![ErrorMatcher::HeartbeatTimeout], 1.0),
                retrier(vec![ErrorMatcher::Any]),
            ],
        ),
        vec![
            catcher(vec![named("Stock.Empty")], "OutOfStock"),
            catcher(vec![ErrorMatcher::Any], "Failed"),
        ],
    );
    let definition = def(
        "Reserve",
        vec![
            start,
            choice("Route", &["Prepare", "Done"]),
            pass("Prepare", "Pause"),
            wait("Pause", "Fan"),
            with_retry(
                parallel("Fan", &["Left", "Right"], Some("Each")),
                vec![retrier(vec![ErrorMatcher::Any])],
            ),
            with_catch(
                map("Each", Some(10.0), Some("Done")),
                vec![catcher(vec![ErrorMatcher::Any], "Failed")],
            ),
            succeed("Done"),
            fail("OutOfStock"),
            fail("Failed"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_single_succeed_state_is_sound() {
    assert_eq!(check(&def("Done", vec![succeed("Done")])), vec![]);
}

#[test]
fn a_single_fail_state_is_sound() {
    assert_eq!(check(&def("Boom", vec![fail("Boom")])), vec![]);
}

#[test]
fn parallel_and_map_that_end_are_sound() {
    let definition = def(
        "Fan",
        vec![
            parallel("Fan", &["A"], Some("Each")),
            map("Each", None, None),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn the_definition_round_trips_through_json_with_the_same_verdict() {
    let definition = def(
        "Start",
        vec![task("Start", "Dnoe"), succeed("Done"), succeed("Orphan")],
    );
    let json = serde_json::to_string(&definition).expect("serializes");
    let back: Definition = serde_json::from_str(&json).expect("deserializes");
    assert_eq!(check(&back), check(&definition));
    assert_eq!(
        check(&back),
        vec![at(
            "Start",
            Locus::Next,
            unknown_target("Dnoe", Some("Done"))
        )]
    );
}

// ---------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------

#[test]
fn no_states() {
    assert_eq!(
        check(&def("Start", vec![])),
        vec![Problem {
            state: None,
            locus: Locus::State,
            kind: ProblemKind::NoStates,
        }]
    );
}

#[test]
fn duplicate_state_names_are_reported_on_each_later_copy() {
    let definition = def(
        "Start",
        vec![
            task("Start", "Done"),
            succeed("Done"),
            fail("Done"),
            succeed("Done"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            at("Done", Locus::State, ProblemKind::DuplicateState),
            at("Done", Locus::State, ProblemKind::DuplicateState),
        ]
    );
}

#[test]
fn duplicate_state_names_also_skip_the_graph_checks() {
    // `Orphan` is unreachable, but with an ambiguous name the graph is not judged.
    let definition = def(
        "Start",
        vec![
            task("Start", "Done"),
            succeed("Done"),
            succeed("Done"),
            succeed("Orphan"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![at("Done", Locus::State, ProblemKind::DuplicateState)]
    );
}

#[test]
fn unknown_start_with_a_suggestion() {
    let definition = def("Chrage", vec![task_end("Charge")]);
    assert_eq!(
        check(&definition),
        vec![Problem {
            state: None,
            locus: Locus::Start,
            kind: ProblemKind::UnknownStart {
                name: "Chrage".to_owned(),
                suggestion: Some("Charge".to_owned()),
            },
        }]
    );
}

#[test]
fn unknown_start_suggestion_ignores_case() {
    let definition = def("charge", vec![task_end("Charge")]);
    assert_eq!(
        check(&definition),
        vec![Problem {
            state: None,
            locus: Locus::Start,
            kind: ProblemKind::UnknownStart {
                name: "charge".to_owned(),
                suggestion: Some("Charge".to_owned()),
            },
        }]
    );
}

#[test]
fn unknown_start_without_a_suggestion() {
    let definition = def("Shipping", vec![task_end("Charge"), succeed("Done")]);
    assert_eq!(
        check(&definition),
        vec![Problem {
            state: None,
            locus: Locus::Start,
            kind: ProblemKind::UnknownStart {
                name: "Shipping".to_owned(),
                suggestion: None,
            },
        }]
    );
}

#[test]
fn unknown_next_targets_on_task_pass_and_wait() {
    let definition = def(
        "Start",
        vec![
            task("Start", "Prepar"),
            pass("Prepare", "Pasue"),
            wait("Pause", "Dnoe"),
            succeed("Done"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            at(
                "Start",
                Locus::Next,
                unknown_target("Prepar", Some("Prepare"))
            ),
            at(
                "Prepare",
                Locus::Next,
                unknown_target("Pasue", Some("Pause"))
            ),
            at("Pause", Locus::Next, unknown_target("Dnoe", Some("Done"))),
        ]
    );
}

#[test]
fn unknown_next_on_parallel_and_map() {
    let definition = def(
        "Fan",
        vec![
            parallel("Fan", &["A"], Some("Eech")),
            map("Each", None, Some("Nowhere")),
            succeed("Done"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            at("Fan", Locus::Next, unknown_target("Eech", Some("Each"))),
            at("Each", Locus::Next, unknown_target("Nowhere", None)),
        ]
    );
}

#[test]
fn unknown_choice_target_close_and_far() {
    let definition = def(
        "Route",
        vec![
            choice("Route", &["Done", "Refnud", "Elsewhere"]),
            succeed("Done"),
            task_end("Refund"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            at(
                "Route",
                Locus::ChoiceTarget(1),
                unknown_target("Refnud", Some("Refund"))
            ),
            at(
                "Route",
                Locus::ChoiceTarget(2),
                unknown_target("Elsewhere", None)
            ),
        ]
    );
}

#[test]
fn unknown_catch_target_close_and_far() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                task_end("Start"),
                vec![
                    catcher(vec![ErrorMatcher::TaskFailed], "Recovr"),
                    catcher(vec![ErrorMatcher::Any], "Zzz"),
                ],
            ),
            fail("Recover"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            at(
                "Start",
                Locus::CatcherNext(0),
                unknown_target("Recovr", Some("Recover"))
            ),
            at("Start", Locus::CatcherNext(1), unknown_target("Zzz", None)),
        ]
    );
}

#[test]
fn unknown_names_suppress_the_graph_checks_but_not_the_state_checks() {
    // `Orphan` is unreachable and `Loop` can never end, but while a name does not
    // resolve the graph is not judged. The zero timeout is still reported.
    let definition = def(
        "Start",
        vec![
            timed_task("Start", Some("Typo"), Some(Duration::ZERO), None),
            succeed("Orphan"),
            task("Loop", "Loop"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            at("Start", Locus::Next, unknown_target("Typo", None)),
            at(
                "Start",
                Locus::Timeout,
                ProblemKind::ZeroDuration { what: "timeout" }
            ),
        ]
    );
}

#[test]
fn an_unknown_start_suppresses_unreachable() {
    let definition = def("Nope", vec![task("A", "B"), succeed("B")]);
    assert_eq!(
        check(&definition),
        vec![Problem {
            state: None,
            locus: Locus::Start,
            kind: ProblemKind::UnknownStart {
                name: "Nope".to_owned(),
                suggestion: None,
            },
        }]
    );
}

#[test]
fn name_problems_come_before_state_problems_which_come_before_graph_problems() {
    let definition = def(
        "Start",
        vec![
            task("Start", "Done"),
            succeed("Done"),
            choice("Route", &[]),
            succeed("Done"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            at("Done", Locus::State, ProblemKind::DuplicateState),
            at("Route", Locus::State, ProblemKind::NoTargets),
        ]
    );
    // Once the names resolve, the graph problems follow the state problems.
    let definition = def(
        "Start",
        vec![task("Start", "Done"), succeed("Done"), choice("Route", &[])],
    );
    assert_eq!(
        check(&definition),
        vec![
            at("Route", Locus::State, ProblemKind::NoTargets),
            unreachable("Route"),
        ]
    );
}

// ---------------------------------------------------------------------------
// Reachability
// ---------------------------------------------------------------------------

#[test]
fn one_unreachable_state() {
    let definition = def("Start", vec![task_end("Start"), succeed("Orphan")]);
    assert_eq!(check(&definition), vec![unreachable("Orphan")]);
}

#[test]
fn several_unreachable_states_in_declaration_order() {
    // `B` is reached only from the unreachable `A`; `X` and `Y` loop forever but,
    // being unreachable, are not also reported as having no way to end.
    let definition = def(
        "Start",
        vec![
            task("A", "B"),
            task("Start", "Done"),
            succeed("B"),
            succeed("Done"),
            task("X", "Y"),
            fail("C"),
            task("Y", "X"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            unreachable("A"),
            unreachable("B"),
            unreachable("X"),
            unreachable("C"),
            unreachable("Y"),
        ]
    );
}

#[test]
fn a_state_reached_only_through_a_catch_is_reachable() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                task_end("Start"),
                vec![catcher(vec![ErrorMatcher::Any], "Handle")],
            ),
            task("Handle", "Failed"),
            fail("Failed"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_state_reached_only_through_a_later_catcher_is_reachable() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                task_end("Start"),
                vec![
                    catcher(vec![named("E.One")], "First"),
                    catcher(vec![ErrorMatcher::Any], "Second"),
                ],
            ),
            fail("First"),
            fail("Second"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn the_start_need_not_be_declared_first() {
    let definition = def("Start", vec![succeed("Done"), task("Start", "Done")]);
    assert_eq!(check(&definition), vec![]);
}

// ---------------------------------------------------------------------------
// A way to end
// ---------------------------------------------------------------------------

#[test]
fn a_loop_with_no_exit_is_reported_at_its_entry_only() {
    let definition = def(
        "Start",
        vec![
            choice("Start", &["Done", "A"]),
            task("A", "B"),
            task("B", "C"),
            task("C", "A"),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![no_way_to_end("A")]);
}

#[test]
fn a_stuck_start_is_reported_once() {
    // Everything reachable from a stuck start is stuck too; only the start is named.
    let definition = def("Start", vec![task("Start", "Loop"), task("Loop", "Start")]);
    assert_eq!(check(&definition), vec![no_way_to_end("Start")]);
}

#[test]
fn a_stuck_region_with_two_entries_is_reported_at_each() {
    let definition = def(
        "Start",
        vec![
            choice("Start", &["Done", "A", "B"]),
            task("A", "B"),
            task("B", "A"),
            succeed("Done"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![no_way_to_end("A"), no_way_to_end("B")]
    );
}

#[test]
fn a_task_self_loop_has_no_way_to_end() {
    let definition = def(
        "Start",
        vec![
            choice("Start", &["Spin", "Done"]),
            task("Spin", "Spin"),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![no_way_to_end("Spin")]);
}

#[test]
fn a_task_that_ends_counts_as_an_end() {
    let definition = def("Start", vec![task("Start", "Last"), task_end("Last")]);
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_loop_whose_task_ends_is_fine() {
    // No Succeed or Fail at all: the only end is a task's `end`.
    let definition = def(
        "Start",
        vec![
            task("Start", "Check"),
            choice("Check", &["Start", "Finish"]),
            task_end("Finish"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_choice_loop_with_one_exit_is_fine() {
    let definition = def(
        "Start",
        vec![
            task("Start", "Check"),
            choice("Check", &["Work", "Done"]),
            task("Work", "Check"),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_choice_loop_with_no_exit_is_stuck() {
    let definition = def(
        "Start",
        vec![
            choice("Start", &["Done", "Check"]),
            choice("Check", &["Work"]),
            task("Work", "Check"),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![no_way_to_end("Check")]);
}

#[test]
fn a_wait_loop_with_an_exit_is_fine() {
    let definition = def(
        "Poll",
        vec![
            task("Poll", "Ready"),
            choice("Ready", &["Sleep", "Done"]),
            wait("Sleep", "Poll"),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_wait_loop_with_no_exit_is_stuck_but_not_a_pass_cycle() {
    let definition = def("Sleep", vec![wait("Sleep", "Nap"), wait("Nap", "Sleep")]);
    assert_eq!(check(&definition), vec![no_way_to_end("Sleep")]);
}

#[test]
fn a_loop_whose_only_exit_is_a_catch_is_fine() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                task("Start", "Again"),
                vec![catcher(vec![ErrorMatcher::Any], "Failed")],
            ),
            task("Again", "Start"),
            fail("Failed"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

// ---------------------------------------------------------------------------
// Pass cycles
// ---------------------------------------------------------------------------

#[test]
fn a_cycle_of_two_pass_states() {
    // `Start` can never end either, but one message is enough.
    let definition = def(
        "Start",
        vec![task("Start", "P1"), pass("P1", "P2"), pass("P2", "P1")],
    );
    assert_eq!(check(&definition), vec![pass_cycle(&["P1", "P2"])]);
}

#[test]
fn a_pass_cycle_is_listed_from_its_first_declared_member() {
    // Entered at `A`, but `B` is declared first.
    let definition = def(
        "Start",
        vec![task("Start", "A"), pass("B", "A"), pass("A", "B")],
    );
    assert_eq!(check(&definition), vec![pass_cycle(&["B", "A"])]);
}

#[test]
fn a_cycle_of_three_pass_states_entered_through_a_pass_chain() {
    // `Lead` leads into the cycle but is not part of it.
    let definition = def(
        "Lead",
        vec![
            pass("Lead", "P1"),
            pass("P1", "P2"),
            pass("P2", "P3"),
            pass("P3", "P1"),
        ],
    );
    assert_eq!(check(&definition), vec![pass_cycle(&["P1", "P2", "P3"])]);
}

#[test]
fn a_pass_cycle_in_reverse_declaration_order() {
    let definition = def(
        "P1",
        vec![pass("P3", "P1"), pass("P2", "P3"), pass("P1", "P2")],
    );
    assert_eq!(check(&definition), vec![pass_cycle(&["P3", "P1", "P2"])]);
}

#[test]
fn a_pass_state_that_loops_to_itself() {
    let definition = def("Start", vec![pass("Start", "Start")]);
    assert_eq!(check(&definition), vec![pass_cycle(&["Start"])]);
}

#[test]
fn two_separate_pass_cycles_are_each_reported_once() {
    let definition = def(
        "Start",
        vec![
            choice("Start", &["A", "C"]),
            pass("A", "B"),
            pass("B", "A"),
            pass("C", "C"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![pass_cycle(&["A", "B"]), pass_cycle(&["C"])]
    );
}

#[test]
fn a_cycle_through_a_pass_and_a_task_is_not_a_pass_cycle() {
    let definition = def("Start", vec![task("Start", "P"), pass("P", "Start")]);
    assert_eq!(check(&definition), vec![no_way_to_end("Start")]);
}

#[test]
fn a_pass_loop_with_a_choice_exit_is_fine() {
    let definition = def(
        "Start",
        vec![
            pass("Start", "Route"),
            choice("Route", &["Start", "Done"]),
            succeed("Done"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn a_pass_cycle_does_not_hide_an_unrelated_loop_with_no_exit() {
    // `A -> B -> A` is a task loop with no exit, unrelated to the pass cycle.
    let definition = def(
        "Start",
        vec![
            choice("Start", &["P1", "A", "Done"]),
            pass("P1", "P2"),
            pass("P2", "P1"),
            task("A", "B"),
            task("B", "A"),
            succeed("Done"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![pass_cycle(&["P1", "P2"]), no_way_to_end("A")]
    );
}

#[test]
fn an_unreachable_pass_cycle_does_not_hide_a_reachable_stuck_start() {
    let definition = def(
        "Start",
        vec![
            task("Start", "Loop"),
            task("Loop", "Start"),
            pass("O1", "O2"),
            pass("O2", "O1"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            unreachable("O1"),
            unreachable("O2"),
            pass_cycle(&["O1", "O2"]),
            no_way_to_end("Start"),
        ]
    );
}

// ---------------------------------------------------------------------------
// Retry and catch
// ---------------------------------------------------------------------------

#[test]
fn retry_on_a_choice() {
    let definition = def(
        "Route",
        vec![
            with_retry(
                choice("Route", &["Done"]),
                vec![retrier(vec![ErrorMatcher::TaskFailed])],
            ),
            succeed("Done"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![wrong_kind("Route", "retry", "Choice")]
    );
}

#[test]
fn catch_on_a_pass() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                pass("Start", "Done"),
                vec![catcher(vec![ErrorMatcher::Any], "Done")],
            ),
            succeed("Done"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![wrong_kind("Start", "catch", "Pass")]
    );
}

#[test]
fn retry_and_catch_on_a_succeed_are_each_reported_once() {
    let definition = def(
        "Done",
        vec![
            with_catch(
                with_retry(
                    succeed("Done"),
                    vec![
                        retrier(vec![ErrorMatcher::TaskFailed]),
                        retrier(vec![ErrorMatcher::Timeout]),
                    ],
                ),
                vec![
                    catcher(vec![ErrorMatcher::TaskFailed], "Failed"),
                    catcher(vec![ErrorMatcher::Timeout], "Failed"),
                ],
            ),
            fail("Failed"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            wrong_kind("Done", "retry", "Succeed"),
            wrong_kind("Done", "catch", "Succeed"),
        ]
    );
}

#[test]
fn retry_on_a_wait_and_a_fail() {
    let definition = def(
        "Sleep",
        vec![
            with_retry(
                wait("Sleep", "Boom"),
                vec![retrier(vec![ErrorMatcher::Any])],
            ),
            with_retry(fail("Boom"), vec![retrier(vec![ErrorMatcher::Any])]),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            wrong_kind("Sleep", "retry", "Wait"),
            wrong_kind("Boom", "retry", "Fail"),
        ]
    );
}

#[test]
fn policies_on_the_wrong_kind_still_have_their_lists_checked() {
    let definition = def(
        "Route",
        vec![
            with_retry(
                choice("Route", &["Done"]),
                vec![
                    retrier(vec![]),
                    backoff_retrier(vec![ErrorMatcher::Any], 0.5),
                ],
            ),
            succeed("Done"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            wrong_kind("Route", "retry", "Choice"),
            at(
                "Route",
                Locus::Retrier(0),
                ProblemKind::NoErrors { policy: "retry" }
            ),
            at(
                "Route",
                Locus::RetrierBackoff(1),
                ProblemKind::BadBackoff { backoff: 0.5 }
            ),
        ]
    );
}

#[test]
fn any_not_last_in_retry() {
    let definition = def(
        "Start",
        vec![with_retry(
            task_end("Start"),
            vec![
                retrier(vec![ErrorMatcher::Any]),
                retrier(vec![ErrorMatcher::TaskFailed]),
            ],
        )],
    );
    assert_eq!(
        check(&definition),
        vec![at(
            "Start",
            Locus::RetrierOn(0, 0),
            ProblemKind::AnyNotLast { policy: "retry" }
        )]
    );
}

#[test]
fn any_not_last_in_catch() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                task_end("Start"),
                vec![
                    catcher(vec![named("E.One")], "Failed"),
                    catcher(vec![ErrorMatcher::Any], "Failed"),
                    catcher(vec![ErrorMatcher::Timeout], "Failed"),
                ],
            ),
            fail("Failed"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![at(
            "Start",
            Locus::CatcherOn(1, 0),
            ProblemKind::AnyNotLast { policy: "catch" }
        )]
    );
}

#[test]
fn any_not_alone_in_retry_and_catch() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                with_retry(
                    task_end("Start"),
                    vec![retrier(vec![ErrorMatcher::TaskFailed, ErrorMatcher::Any])],
                ),
                vec![catcher(vec![ErrorMatcher::Any, named("E.Bad")], "Failed")],
            ),
            fail("Failed"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            at("Start", Locus::RetrierOn(0, 1), ProblemKind::AnyNotAlone),
            at("Start", Locus::CatcherOn(0, 0), ProblemKind::AnyNotAlone),
        ]
    );
}

#[test]
fn any_neither_alone_nor_last_is_reported_as_not_alone_only() {
    let definition = def(
        "Start",
        vec![with_retry(
            task_end("Start"),
            vec![
                retrier(vec![ErrorMatcher::Timeout, ErrorMatcher::Any]),
                retrier(vec![ErrorMatcher::TaskFailed]),
            ],
        )],
    );
    assert_eq!(
        check(&definition),
        vec![at(
            "Start",
            Locus::RetrierOn(0, 1),
            ProblemKind::AnyNotAlone
        )]
    );
}

#[test]
fn any_alone_in_the_last_policy_is_fine() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                with_retry(
                    task_end("Start"),
                    vec![
                        retrier(vec![ErrorMatcher::Timeout]),
                        retrier(vec![ErrorMatcher::Any]),
                    ],
                ),
                vec![
                    catcher(vec![ErrorMatcher::HeartbeatTimeout], "Failed"),
                    catcher(vec![ErrorMatcher::Any], "Failed"),
                ],
            ),
            fail("Failed"),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

#[test]
fn empty_error_lists() {
    let definition = def(
        "Start",
        vec![
            with_catch(
                with_retry(
                    task_end("Start"),
                    vec![retrier(vec![ErrorMatcher::Timeout]), retrier(vec![])],
                ),
                vec![catcher(vec![], "Failed")],
            ),
            fail("Failed"),
        ],
    );
    assert_eq!(
        check(&definition),
        vec![
            at(
                "Start",
                Locus::Retrier(1),
                ProblemKind::NoErrors { policy: "retry" }
            ),
            at(
                "Start",
                Locus::Catcher(0),
                ProblemKind::NoErrors { policy: "catch" }
            ),
        ]
    );
}

#[test]
fn backoff_below_one() {
    let definition = def(
        "Start",
        vec![with_retry(
            task_end("Start"),
            vec![
                retrier(vec![ErrorMatcher::Timeout]),
                backoff_retrier(vec![ErrorMatcher::Any], 0.5),
            ],
        )],
    );
    assert_eq!(
        check(&definition),
        vec![at(
            "Start",
            Locus::RetrierBackoff(1),
            ProblemKind::BadBackoff { backoff: 0.5 }
        )]
    );
}

#[test]
fn backoff_zero_and_negative() {
    let definition = def(
        "Start",
        vec![with_retry(
            task_end("Start"),
            vec![
                backoff_retrier(vec![ErrorMatcher::Timeout], 0.0),
                backoff_retrier(vec![ErrorMatcher::Any], -2.0),
            ],
        )],
    );
    assert_eq!(
        check(&definition),
        vec![
            at(
                "Start",
                Locus::RetrierBackoff(0),
                ProblemKind::BadBackoff { backoff: 0.0 }
            ),
            at(
                "Start",
                Locus::RetrierBackoff(1),
                ProblemKind::BadBackoff { backoff: -2.0 }
            ),
        ]
    );
}

#[test]
fn backoff_nan() {
    let definition = def(
        "Start",
        vec![with_retry(
            task_end("Start"),
            vec![backoff_retrier(vec![ErrorMatcher::Any], f64::NAN)],
        )],
    );
    let problems = check(&definition);
    // NaN is not equal to itself, so `assert_eq!` on the problem cannot work.
    match problems.as_slice() {
        [
            Problem {
                state: Some(state),
                locus: Locus::RetrierBackoff(0),
                kind: ProblemKind::BadBackoff { backoff },
            },
        ] if state == "Start" && backoff.is_nan() => {}
        other => panic!("expected one BadBackoff(NaN) on Start, got {other:?}"),
    }
}

#[test]
fn backoff_infinite() {
    let definition = def(
        "Start",
        vec![with_retry(
            task_end("Start"),
            vec![backoff_retrier(vec![ErrorMatcher::Any], f64::INFINITY)],
        )],
    );
    assert_eq!(
        check(&definition),
        vec![at(
            "Start",
            Locus::RetrierBackoff(0),
            ProblemKind::BadBackoff {
                backoff: f64::INFINITY
            }
        )]
    );
}

#[test]
fn backoff_exactly_one_is_fine() {
    let definition = def(
        "Start",
        vec![with_retry(
            task_end("Start"),
            vec![backoff_retrier(vec![ErrorMatcher::Any], 1.0)],
        )],
    );
    assert_eq!(check(&definition), vec![]);
}

// ---------------------------------------------------------------------------
// Timeouts
// ---------------------------------------------------------------------------

#[test]
fn zero_timeout() {
    let definition = def(
        "Start",
        vec![timed_task("Start", None, Some(Duration::ZERO), None)],
    );
    assert_eq!(
        check(&definition),
        vec![at(
            "Start",
            Locus::Timeout,
            ProblemKind::ZeroDuration { what: "timeout" }
        )]
    );
}

#[test]
fn zero_heartbeat() {
    let definition = def(
        "Start",
        vec![timed_task("Start", None, secs(10), Some(Duration::ZERO))],
    );
    assert_eq!(
        check(&definition),
        vec![at(
            "Start",
            Locus::Heartbeat,
            ProblemKind::ZeroDuration { what: "heartbeat" }
        )]
    );
}

#[test]
fn zero_heartbeat_without_timeout() {
    let definition = def(
        "Start",
        vec![timed_task("Start", None, None, Some(Duration::ZERO))],
    );
    assert_eq!(
        check(&definition),
        vec![at(
            "Start",
            Locus::Heartbeat,
            ProblemKind::ZeroDuration { what: "heartbeat" }
        )]
    );
}

#[test]
fn zero_timeout_and_zero_heartbeat() {
    let definition = def(
        "Start",
        vec![timed_task(
            "Start",
            None,
            Some(Duration::ZERO),
            Some(Duration::ZERO),
        )],
    );
    assert_eq!(
        check(&definition),
        vec![
            at(
                "Start",
                Locus::Timeout,
                ProblemKind::ZeroDuration { what: "timeout" }
            ),
            at(
                "Start",
                Locus::Heartbeat,
                ProblemKind::ZeroDuration { what: "heartbeat" }
            ),
        ]
    );
}

#[test]
fn heartbeat_equal_to_timeout() {
    let definition = def("Start", vec![timed_task("Start", None, secs(10), secs(10))]);
    assert_eq!(
        check(&definition),
        vec![at(
            "Start",
            Locus::Heartbeat,
            ProblemKind::HeartbeatNotBelowTimeout
        )]
    );
}

#[test]
fn heartbeat_above_timeout() {
    let definition = def("Start", vec![timed_task("Start", None, secs(10), secs(60))]);
    assert_eq!(
        check(&definition),
        vec![at(
            "Start",
            Locus::Heartbeat,
            ProblemKind::HeartbeatNotBelowTimeout
        )]
    );
}

#[test]
fn heartbeat_below_timeout_or_without_one_is_fine() {
    let definition = def(
        "A",
        vec![
            timed_task("A", Some("B"), secs(10), Some(Duration::from_millis(9_999))),
            timed_task("B", None, None, secs(60)),
        ],
    );
    assert_eq!(check(&definition), vec![]);
}

// ---------------------------------------------------------------------------
// Choice, parallel, map
// ---------------------------------------------------------------------------

#[test]
fn choice_with_no_targets() {
    // The choice cannot go anywhere, so the task before it can never end either.
    let definition = def("Start", vec![task("Start", "Route"), choice("Route", &[])]);
    assert_eq!(
        check(&definition),
        vec![
            at("Route", Locus::State, ProblemKind::NoTargets),
            no_way_to_end("Start"),
        ]
    );
}

#[test]
fn duplicate_choice_targets_are_reported_on_each_repeat() {
    let definition = def(
        "Route",
        vec![
            choice("Route", &["Done", "Other", "Done", "Other", "Done"]),
            succeed("Done"),
            fail("Other"),
        ],
    );
    let dup = |i, target: &str| {
        at(
            "Route",
            Locus::ChoiceTarget(i),
            ProblemKind::DuplicateTarget {
                target: target.to_owned(),
            },
        )
    };
    assert_eq!(
        check(&definition),
        vec![dup(2, "Done"), dup(3, "Other"), dup(4, "Done")]
    );
}

#[test]
fn parallel_with_no_branches() {
    let definition = def("Fan", vec![parallel("Fan", &[], None)]);
    assert_eq!(
        check(&definition),
        vec![at("Fan", Locus::State, ProblemKind::NoBranches)]
    );
}

#[test]
fn map_tolerance_percentage_above_100() {
    let definition = def("Each", vec![map("Each", Some(150.0), None)]);
    assert_eq!(
        check(&definition),
        vec![at(
            "Each",
            Locus::Tolerance,
            ProblemKind::BadPercentage { percentage: 150.0 }
        )]
    );
}

#[test]
fn map_tolerance_percentage_below_0() {
    let definition = def("Each", vec![map("Each", Some(-1.0), None)]);
    assert_eq!(
        check(&definition),
        vec![at(
            "Each",
            Locus::Tolerance,
            ProblemKind::BadPercentage { percentage: -1.0 }
        )]
    );
}

#[test]
fn map_tolerance_percentage_bounds_are_fine() {
    let definition = def(
        "A",
        vec![map("A", Some(0.0), Some("B")), map("B", Some(100.0), None)],
    );
    assert_eq!(check(&definition), vec![]);
}

// ---------------------------------------------------------------------------
// Display
// ---------------------------------------------------------------------------

fn rendered(definition: &Definition) -> Vec<String> {
    check(definition).iter().map(ToString::to_string).collect()
}

#[test]
fn display_of_an_unknown_target_suggests_the_close_name() {
    let messages = rendered(&def(
        "Start",
        vec![task("Start", "Chrage"), task_end("Charge")],
    ));
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(message.contains("`Start`"), "{message}");
    assert!(message.contains("`Chrage`"), "{message}");
    assert!(message.contains("not a state"), "{message}");
    assert!(message.contains("did you mean `Charge`"), "{message}");
}

#[test]
fn display_of_an_unknown_target_without_suggestion_does_not_guess() {
    let messages = rendered(&def(
        "Start",
        vec![task("Start", "Elsewhere"), task_end("Charge")],
    ));
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("`Elsewhere`"), "{}", messages[0]);
    assert!(!messages[0].contains("did you mean"), "{}", messages[0]);
}

#[test]
fn display_of_an_unknown_start() {
    let messages = rendered(&def("Chrage", vec![task_end("Charge")]));
    assert_eq!(
        messages,
        vec!["the start state `Chrage` does not exist; did you mean `Charge`?".to_owned()]
    );
}

#[test]
fn display_of_unreachable_and_no_way_to_end() {
    let messages = rendered(&def(
        "Start",
        vec![
            task("Start", "Loop"),
            task("Loop", "Start"),
            succeed("Orphan"),
        ],
    ));
    assert_eq!(messages.len(), 2);
    assert!(messages[0].contains("`Orphan`"), "{}", messages[0]);
    assert!(messages[0].contains("unreachable"), "{}", messages[0]);
    assert!(messages[1].contains("`Start`"), "{}", messages[1]);
    assert!(messages[1].contains("no terminal state"), "{}", messages[1]);
}

#[test]
fn display_of_a_pass_cycle_lists_it_in_order() {
    let messages = rendered(&def(
        "A",
        vec![pass("A", "B"), pass("B", "C"), pass("C", "A")],
    ));
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("`A` -> `B` -> `C`"), "{}", messages[0]);
}

#[test]
fn display_of_a_policy_on_the_wrong_kind() {
    let messages = rendered(&def(
        "Done",
        vec![with_retry(
            succeed("Done"),
            vec![retrier(vec![ErrorMatcher::Any])],
        )],
    ));
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert!(message.contains("#[retry]"), "{message}");
    assert!(message.contains("`Done` is a succeed state"), "{message}");
    assert!(message.contains("cannot fail"), "{message}");
}

#[test]
fn display_of_other_problems() {
    let problem = |kind| Problem {
        state: Some("S".to_owned()),
        locus: Locus::State,
        kind,
    };
    let cases = [
        (ProblemKind::NoStates, "at least one state"),
        (ProblemKind::DuplicateState, "`S` is defined twice"),
        (ProblemKind::AnyNotLast { policy: "catch" }, "last #[catch]"),
        (ProblemKind::AnyNotAlone, "alone"),
        (
            ProblemKind::NoErrors { policy: "retry" },
            "#[retry] lists no errors",
        ),
        (ProblemKind::BadBackoff { backoff: 0.5 }, "not 0.5"),
        (
            ProblemKind::ZeroDuration { what: "heartbeat" },
            "heartbeat of zero",
        ),
        (
            ProblemKind::HeartbeatNotBelowTimeout,
            "shorter than the timeout",
        ),
        (ProblemKind::NoTargets, "at least one target"),
        (
            ProblemKind::DuplicateTarget {
                target: "T".to_owned(),
            },
            "`T` is listed twice",
        ),
        (ProblemKind::NoBranches, "at least one branch"),
        (
            ProblemKind::BadPercentage { percentage: 150.0 },
            "between 0 and 100, not 150",
        ),
    ];
    for (kind, words) in cases {
        let message = problem(kind).to_string();
        assert!(message.contains(words), "{message:?} lacks {words:?}");
    }
}
