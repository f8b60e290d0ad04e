//! Names: unknown targets and starts, duplicates, and the order of problems.

use super::*;

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
