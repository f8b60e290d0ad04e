//! The transition table: states, their kinds, edges and policies.
//!
//! Every list and name is a `Cow<'static, _>` so that the macro can embed a
//! definition as a `static` (borrowed) while a definition read from JSON owns
//! its data, with one type for both.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A name or type string: borrowed when embedded by the macro, owned when
/// deserialized.
pub type Name = Cow<'static, str>;

/// The transition table of one workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    /// The workflow's name (the enum's name).
    pub name: Name,
    /// The name of the state an execution starts in.
    pub start: Name,
    /// A bound on a whole execution, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Every state, in declaration order. A state's position is its index.
    pub states: Cow<'static, [State]>,
}

/// One state of a workflow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// The state's name (the enum variant's name).
    pub name: Name,
    /// The type of the data the state receives, as written in the source.
    pub data: Name,
    /// What the state does and where it goes.
    pub kind: Kind,
    /// Retry policies, tried in order. Only tasks, parallels and maps have any.
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub retry: Cow<'static, [Retrier]>,
    /// Catch policies, tried in order once retrying is over. Only tasks,
    /// parallels and maps have any.
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub catch: Cow<'static, [Catcher]>,
}

/// What a state does, with the edges that leave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    /// Runs a handler that may fail, time out or be retried.
    Task {
        /// The handler's path as written.
        handler: Name,
        /// Where the handler's output goes.
        next: Transition,
        /// A bound on one attempt.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout: Option<Duration>,
        /// A bound on the gap between two heartbeats of one attempt.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heartbeat: Option<Duration>,
    },
    /// Picks one of its targets with a function of its input.
    Choice {
        /// The choosing function's path as written.
        handler: Name,
        /// The states it may go to; nothing else.
        targets: Cow<'static, [Name]>,
    },
    /// Passes its input on, optionally through a pure function.
    Pass {
        /// The transforming function, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        handler: Option<Name>,
        /// The next state.
        next: Name,
    },
    /// Waits, then passes its input on.
    Wait {
        /// How long, or until when.
        wait: WaitFor,
        /// The next state.
        next: Name,
    },
    /// Runs other workflows on the same input at the same time.
    Parallel {
        /// The branch workflows' names, in order.
        branches: Cow<'static, [Name]>,
        /// Where the tuple of branch outputs goes.
        next: Transition,
    },
    /// Runs another workflow once per item of a list.
    Map {
        /// The item workflow's name.
        workflow: Name,
        /// The function that lists the items.
        items: Name,
        /// At most this many items at once; 0 means no limit.
        max_concurrency: u32,
        /// How many item failures the state tolerates.
        #[serde(default)]
        tolerance: Tolerance,
        /// Where the outputs, in item order, go.
        next: Transition,
    },
    /// Ends the execution successfully with its input as the output.
    Succeed,
    /// Ends the execution as failed.
    Fail {
        /// The error name the execution fails with.
        error: Name,
        /// A fixed cause, if any; otherwise the state's data describes it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cause: Option<Name>,
    },
}

impl Kind {
    /// The kind's name as Amazon States Language spells it (`"Task"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Task { .. } => "Task",
            Kind::Choice { .. } => "Choice",
            Kind::Pass { .. } => "Pass",
            Kind::Wait { .. } => "Wait",
            Kind::Parallel { .. } => "Parallel",
            Kind::Map { .. } => "Map",
            Kind::Succeed => "Succeed",
            Kind::Fail { .. } => "Fail",
        }
    }

    /// Whether the kind ends an execution (Succeed and Fail).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Kind::Succeed | Kind::Fail { .. })
    }

    /// Whether retry and catch policies apply to this kind.
    pub fn can_fail(&self) -> bool {
        matches!(
            self,
            Kind::Task { .. } | Kind::Parallel { .. } | Kind::Map { .. }
        )
    }
}

/// Where a state that does work goes next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    /// To the named state.
    Next(Name),
    /// Nowhere: the state's output is the execution's output.
    End,
}

impl Transition {
    /// The next state's name, unless the transition ends the execution.
    pub fn target(&self) -> Option<&str> {
        match self {
            Transition::Next(name) => Some(name),
            Transition::End => None,
        }
    }
}

/// How a Wait state waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitFor {
    /// A fixed number of seconds.
    Seconds(u64),
    /// A fixed duration.
    Duration(Duration),
    /// Until a timestamp computed from the input by the named function.
    Until(Name),
    /// For a duration computed from the input by the named function.
    Delay(Name),
}

/// How many failed items a Map state tolerates before it fails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    /// At most this many failed items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// At most this percentage (0 to 100) of failed items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage: Option<f64>,
}

/// Which errors a retrier or catcher handles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorMatcher {
    /// Every error (`States.ALL`).
    Any,
    /// Every error but a timeout (`States.TaskFailed`).
    TaskFailed,
    /// An attempt ran past its timeout (`States.Timeout`).
    Timeout,
    /// An attempt went silent past its heartbeat interval (`States.HeartbeatTimeout`).
    HeartbeatTimeout,
    /// One variant of the handler's error type, as `Type.Variant`.
    Named(Name),
}

impl ErrorMatcher {
    /// The error name as Amazon States Language spells it.
    pub fn asl_name(&self) -> &str {
        match self {
            ErrorMatcher::Any => "States.ALL",
            ErrorMatcher::TaskFailed => "States.TaskFailed",
            ErrorMatcher::Timeout => "States.Timeout",
            ErrorMatcher::HeartbeatTimeout => "States.HeartbeatTimeout",
            ErrorMatcher::Named(name) => name,
        }
    }
}

/// Jitter applied to a retry delay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// The delay as computed.
    #[default]
    None,
    /// A delay drawn uniformly from `[0, delay]`.
    Full,
}

/// A retry policy: which errors it retries, how often and how long apart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retrier {
    /// The errors this retrier handles.
    pub on: Cow<'static, [ErrorMatcher]>,
    /// How many retries (not attempts in all) it allows; 0 never retries.
    pub max_attempts: u32,
    /// The delay before the first retry.
    pub interval: Duration,
    /// The factor by which the delay grows with each retry; at least 1.
    pub backoff: f64,
    /// A cap on any one delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay: Option<Duration>,
    /// Jitter applied to each delay.
    #[serde(default)]
    pub jitter: Jitter,
}

impl Retrier {
    /// The default interval: one second.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);
    /// The default number of retries: three.
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
    /// The default backoff rate: two.
    pub const DEFAULT_BACKOFF: f64 = 2.0;

    /// The delay before retry `n` (1 for the first retry), before jitter:
    /// `interval * backoff^(n-1)`, capped by `max_delay`.
    ///
    /// A delay too large to represent saturates at `Duration::MAX`.
    pub fn delay_before(&self, n: u32) -> Duration {
        if self.interval.is_zero() {
            // 0 * backoff^n is 0, but 0 * infinity would be NaN.
            return Duration::ZERO;
        }
        let exponent = i32::try_from(n.saturating_sub(1)).unwrap_or(i32::MAX);
        let seconds = self.interval.as_secs_f64() * self.backoff.powi(exponent);
        let delay = Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX);
        match self.max_delay {
            Some(cap) => delay.min(cap),
            None => delay,
        }
    }

    /// The delay before retry `n` with jitter applied; `unit` is a random
    /// number in `[0, 1]`, used only by [`Jitter::Full`].
    pub fn jittered_delay_before(&self, n: u32, unit: f64) -> Duration {
        let delay = self.delay_before(n);
        match self.jitter {
            Jitter::None => delay,
            Jitter::Full => Duration::try_from_secs_f64(delay.as_secs_f64() * unit.clamp(0.0, 1.0))
                .unwrap_or(delay),
        }
    }
}

/// A catch policy: which errors it catches and where it sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catcher {
    /// The errors this catcher handles.
    pub on: Cow<'static, [ErrorMatcher]>,
    /// The state that receives the input and the error.
    pub next: Name,
}

/// One edge of the state graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge<'a> {
    /// The state the edge leaves.
    pub from: &'a str,
    /// The state the edge enters.
    pub to: &'a str,
    /// Why the edge exists.
    pub kind: EdgeKind,
}

/// Why an edge exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// The state's `next`.
    Next,
    /// One of a choice's targets (its position among them).
    Choice(usize),
    /// One of the state's catchers (its position among them).
    Catch(usize),
}

impl Definition {
    /// The state with this name.
    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.iter().find(|state| state.name == name)
    }

    /// The position of the state with this name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.states.iter().position(|state| state.name == name)
    }

    /// Every edge of the graph, state by state in declaration order.
    pub fn edges(&self) -> Vec<Edge<'_>> {
        self.states.iter().flat_map(State::edges).collect()
    }

    /// The names of the workflows its Parallel states run as branches and
    /// its Map states run per item, in state order (a name can repeat).
    pub fn child_workflows(&self) -> impl Iterator<Item = &str> {
        self.states.iter().flat_map(|state| match &state.kind {
            Kind::Parallel { branches, .. } => branches.iter().map(|b| &**b).collect(),
            Kind::Map { workflow, .. } => vec![&**workflow],
            _ => Vec::new(),
        })
    }
}

impl State {
    /// The edges that leave this state: its next or targets, then its catchers.
    pub fn edges(&self) -> Vec<Edge<'_>> {
        let from: &str = &self.name;
        let mut edges = Vec::new();
        fn next<'a>(from: &'a str, to: &'a str) -> Edge<'a> {
            Edge {
                from,
                to,
                kind: EdgeKind::Next,
            }
        }
        match &self.kind {
            Kind::Task { next: t, .. }
            | Kind::Parallel { next: t, .. }
            | Kind::Map { next: t, .. } => edges.extend(t.target().map(|to| next(from, to))),
            Kind::Pass { next: to, .. } | Kind::Wait { next: to, .. } => edges.push(next(from, to)),
            Kind::Choice { targets, .. } => {
                edges.extend(targets.iter().enumerate().map(|(i, to)| Edge {
                    from,
                    to,
                    kind: EdgeKind::Choice(i),
                }))
            }
            Kind::Succeed | Kind::Fail { .. } => {}
        }
        edges.extend(self.catch.iter().enumerate().map(|(i, catcher)| Edge {
            from,
            to: &catcher.next,
            kind: EdgeKind::Catch(i),
        }));
        edges
    }

    /// Whether the execution ends with this state: a Succeed or Fail state,
    /// or a state whose transition is `end`.
    pub fn can_end(&self) -> bool {
        match &self.kind {
            Kind::Succeed | Kind::Fail { .. } => true,
            Kind::Task { next, .. } | Kind::Parallel { next, .. } | Kind::Map { next, .. } => {
                *next == Transition::End
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retrier(interval_ms: u64, backoff: f64, max_delay_ms: Option<u64>) -> Retrier {
        Retrier {
            on: Cow::Borrowed(&[ErrorMatcher::Any]),
            max_attempts: 10,
            interval: Duration::from_millis(interval_ms),
            backoff,
            max_delay: max_delay_ms.map(Duration::from_millis),
            jitter: Jitter::None,
        }
    }

    #[test]
    fn delay_grows_by_backoff_and_is_capped() {
        let r = retrier(200, 2.0, Some(1000));
        let delays: Vec<_> = (1..=5).map(|n| r.delay_before(n).as_millis()).collect();
        assert_eq!(delays, [200, 400, 800, 1000, 1000]);
    }

    #[test]
    fn backoff_one_keeps_the_interval() {
        let r = retrier(300, 1.0, None);
        assert!((1..=4).all(|n| r.delay_before(n) == Duration::from_millis(300)));
    }

    #[test]
    fn huge_delays_saturate_instead_of_panicking() {
        let r = retrier(1000, 10.0, None);
        assert_eq!(r.delay_before(u32::MAX), Duration::MAX);
    }

    #[test]
    fn a_zero_interval_never_waits_and_saturated_jitter_does_not_panic() {
        let r = retrier(0, 10.0, None);
        assert_eq!(r.delay_before(2000), Duration::ZERO);
        let mut r = retrier(1000, 10.0, None);
        r.jitter = Jitter::Full;
        assert_eq!(r.jittered_delay_before(u32::MAX, 1.0), Duration::MAX);
        assert!(r.jittered_delay_before(u32::MAX, 0.5) <= Duration::MAX);
    }

    #[test]
    fn full_jitter_stays_within_zero_and_the_delay() {
        let mut r = retrier(1000, 2.0, None);
        r.jitter = Jitter::Full;
        assert_eq!(r.jittered_delay_before(2, 0.0), Duration::ZERO);
        assert_eq!(r.jittered_delay_before(2, 1.0), Duration::from_secs(2));
        assert_eq!(r.jittered_delay_before(2, 0.5), Duration::from_secs(1));
        assert_eq!(r.jittered_delay_before(2, 7.0), Duration::from_secs(2));
    }

    #[test]
    fn definitions_round_trip_through_json() {
        let def = Definition {
            name: "Echo".into(),
            start: "Start".into(),
            timeout: None,
            states: Cow::Owned(vec![
                State {
                    name: "Start".into(),
                    data: "String".into(),
                    kind: Kind::Task {
                        handler: "echo".into(),
                        next: Transition::Next("Done".into()),
                        timeout: Some(Duration::from_secs(3)),
                        heartbeat: None,
                    },
                    retry: Cow::Owned(vec![retrier(100, 2.0, None)]),
                    catch: Cow::Owned(vec![Catcher {
                        on: Cow::Owned(vec![ErrorMatcher::Named("E.Bad".into())]),
                        next: "Done".into(),
                    }]),
                },
                State {
                    name: "Done".into(),
                    data: "String".into(),
                    kind: Kind::Succeed,
                    retry: Cow::Borrowed(&[]),
                    catch: Cow::Borrowed(&[]),
                },
            ]),
        };
        let json = serde_json::to_string(&def).expect("serializes");
        let back: Definition = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, def);
        assert_eq!(back.edges().len(), 2);
    }
}
