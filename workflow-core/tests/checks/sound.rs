//! Sound definitions: no problems.

use super::*;

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
