//! Choice, Parallel and Map states.

use super::*;

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
