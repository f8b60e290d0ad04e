//! Retry and catch policies.

use super::*;

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
