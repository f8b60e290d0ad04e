//! How problems read.

use super::*;

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
