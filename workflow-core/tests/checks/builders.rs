//! Builders of definitions and of the problems the checks report.

use super::*;

pub(crate) fn def(start: &str, states: Vec<State>) -> Definition {
    Definition {
        name: "Test".into(),
        start: start.to_owned().into(),
        timeout: None,
        states: Cow::Owned(states),
    }
}

pub(crate) fn state(name: &str, kind: Kind) -> State {
    State {
        name: name.to_owned().into(),
        data: "()".into(),
        kind,
        retry: Cow::Owned(vec![]),
        catch: Cow::Owned(vec![]),
    }
}

pub(crate) fn transition(next: Option<&str>) -> Transition {
    match next {
        Some(name) => Transition::Next(name.to_owned().into()),
        None => Transition::End,
    }
}

pub(crate) fn names(list: &[&str]) -> Cow<'static, [Cow<'static, str>]> {
    Cow::Owned(list.iter().map(|s| (*s).to_owned().into()).collect())
}

/// A task going to `next`.
pub(crate) fn task(name: &str, next: &str) -> State {
    timed_task(name, Some(next), None, None)
}

/// A task that ends the execution.
pub(crate) fn task_end(name: &str) -> State {
    timed_task(name, None, None, None)
}

pub(crate) fn timed_task(
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

pub(crate) fn choice(name: &str, targets: &[&str]) -> State {
    state(
        name,
        Kind::Choice {
            handler: "choose".into(),
            targets: names(targets),
        },
    )
}

pub(crate) fn pass(name: &str, next: &str) -> State {
    state(
        name,
        Kind::Pass {
            handler: None,
            next: next.to_owned().into(),
        },
    )
}

pub(crate) fn wait(name: &str, next: &str) -> State {
    state(
        name,
        Kind::Wait {
            wait: WaitFor::Seconds(5),
            next: next.to_owned().into(),
        },
    )
}

pub(crate) fn parallel(name: &str, branches: &[&str], next: Option<&str>) -> State {
    state(
        name,
        Kind::Parallel {
            branches: names(branches),
            next: transition(next),
        },
    )
}

pub(crate) fn map(name: &str, percentage: Option<f64>, next: Option<&str>) -> State {
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

pub(crate) fn succeed(name: &str) -> State {
    state(name, Kind::Succeed)
}

pub(crate) fn fail(name: &str) -> State {
    state(
        name,
        Kind::Fail {
            error: "Failed".into(),
            cause: None,
        },
    )
}

pub(crate) fn retrier(on: Vec<ErrorMatcher>) -> Retrier {
    backoff_retrier(on, Retrier::DEFAULT_BACKOFF)
}

pub(crate) fn backoff_retrier(on: Vec<ErrorMatcher>, backoff: f64) -> Retrier {
    Retrier {
        on: Cow::Owned(on),
        max_attempts: Retrier::DEFAULT_MAX_ATTEMPTS,
        interval: Retrier::DEFAULT_INTERVAL,
        backoff,
        max_delay: None,
        jitter: Jitter::None,
    }
}

pub(crate) fn catcher(on: Vec<ErrorMatcher>, next: &str) -> Catcher {
    Catcher {
        on: Cow::Owned(on),
        next: next.to_owned().into(),
    }
}

pub(crate) fn with_retry(mut state: State, retry: Vec<Retrier>) -> State {
    state.retry = Cow::Owned(retry);
    state
}

pub(crate) fn with_catch(mut state: State, catch: Vec<Catcher>) -> State {
    state.catch = Cow::Owned(catch);
    state
}

pub(crate) fn named(error: &str) -> ErrorMatcher {
    ErrorMatcher::Named(error.to_owned().into())
}

pub(crate) fn secs(s: u64) -> Option<Duration> {
    Some(Duration::from_secs(s))
}

/// The expected problem on a state.
pub(crate) fn at(state: &str, locus: Locus, kind: ProblemKind) -> Problem {
    Problem {
        state: Some(state.to_owned()),
        locus,
        kind,
    }
}

pub(crate) fn unknown_target(target: &str, suggestion: Option<&str>) -> ProblemKind {
    ProblemKind::UnknownTarget {
        target: target.to_owned(),
        suggestion: suggestion.map(str::to_owned),
    }
}

pub(crate) fn unreachable(state: &str) -> Problem {
    at(state, Locus::State, ProblemKind::Unreachable)
}

pub(crate) fn no_way_to_end(state: &str) -> Problem {
    at(state, Locus::State, ProblemKind::NoWayToEnd)
}

pub(crate) fn pass_cycle(cycle: &[&str]) -> Problem {
    at(
        cycle[0],
        Locus::Next,
        ProblemKind::PassCycle {
            cycle: cycle.iter().map(|s| (*s).to_owned()).collect(),
        },
    )
}

pub(crate) fn wrong_kind(state: &str, policy: &'static str, kind: &'static str) -> Problem {
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
