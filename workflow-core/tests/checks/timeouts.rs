//! Timeouts and heartbeats.

use super::*;

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
