//! The rules a definition must follow, checked in separate passes.
//!
//! Each problem names the state and the part of it (the [`Locus`]) at fault,
//! so the macro can put the error on the user's own tokens and a JSON loader
//! can print a path. When names do not resolve, the graph passes are skipped:
//! a misspelt target would otherwise also show up as an unreachable state.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;

use crate::definition::{Definition, ErrorMatcher, Kind, State};
use crate::suggest::closest;

/// Something wrong with a definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The state at fault; `None` for the definition as a whole.
    pub state: Option<String>,
    /// The part of the state at fault.
    pub locus: Locus,
    /// What is wrong.
    pub kind: ProblemKind,
}

/// The part of a state a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locus {
    /// The whole state (or the whole definition).
    State,
    /// The definition's start.
    Start,
    /// The state's `next`.
    Next,
    /// One target of a choice.
    ChoiceTarget(usize),
    /// One branch of a parallel state.
    Branch(usize),
    /// The task's timeout.
    Timeout,
    /// The task's heartbeat.
    Heartbeat,
    /// The map's tolerated failures.
    Tolerance,
    /// One retrier.
    Retrier(usize),
    /// One retrier's backoff.
    RetrierBackoff(usize),
    /// One error matcher of one retrier.
    RetrierOn(usize, usize),
    /// One catcher.
    Catcher(usize),
    /// One catcher's target.
    CatcherNext(usize),
    /// One error matcher of one catcher.
    CatcherOn(usize, usize),
}

/// What is wrong, with what is needed to say how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub enum ProblemKind {
    /// The definition has no states.
    NoStates,
    /// Two states have the same name.
    DuplicateState,
    /// The start names no state.
    UnknownStart {
        /// The name given.
        name: String,
        /// A close existing name.
        suggestion: Option<String>,
    },
    /// An edge names no state.
    UnknownTarget {
        /// The name given.
        target: String,
        /// A close existing name.
        suggestion: Option<String>,
    },
    /// A branch or map workflow is named but the definition cannot check it.
    /// (Never produced by [`check`]; kept for loaders that resolve workflows.)
    UnknownWorkflow {
        /// The name given.
        name: String,
    },
    /// No path from the start leads to this state.
    Unreachable,
    /// No path from this state leads to a Succeed, a Fail or an `end`.
    NoWayToEnd,
    /// Pass states that only lead to each other: the execution would loop
    /// forever without doing anything.
    PassCycle {
        /// The states of the cycle, in order.
        cycle: Vec<String>,
    },
    /// Retry or catch on a state that cannot fail.
    PolicyOnWrongKind {
        /// `"retry"` or `"catch"`.
        policy: &'static str,
        /// The state's kind.
        kind: &'static str,
    },
    /// `any` in a retrier or catcher that is not the last one.
    AnyNotLast {
        /// `"retry"` or `"catch"`.
        policy: &'static str,
    },
    /// `any` listed together with other errors.
    AnyNotAlone,
    /// A retrier or catcher that lists no errors.
    NoErrors {
        /// `"retry"` or `"catch"`.
        policy: &'static str,
    },
    /// A backoff rate below 1 (or not a number).
    BadBackoff {
        /// The rate given.
        backoff: f64,
    },
    /// A task timeout or heartbeat of zero.
    ZeroDuration {
        /// `"timeout"` or `"heartbeat"`.
        what: &'static str,
    },
    /// A heartbeat interval not shorter than the timeout.
    HeartbeatNotBelowTimeout,
    /// A choice with no targets.
    NoTargets,
    /// A choice that lists a target twice.
    DuplicateTarget {
        /// The repeated target.
        target: String,
    },
    /// A parallel state with no branches.
    NoBranches,
    /// A tolerated failure percentage outside 0 to 100.
    BadPercentage {
        /// The percentage given.
        percentage: f64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.as_deref().unwrap_or("?");
        match &self.kind {
            ProblemKind::NoStates => write!(f, "a workflow needs at least one state"),
            ProblemKind::DuplicateState => {
                write!(
                    f,
                    "state `{state}` is defined twice; give each state its own name"
                )
            }
            ProblemKind::UnknownStart { name, suggestion } => {
                write!(f, "the start state `{name}` does not exist")?;
                did_you_mean(f, suggestion)
            }
            ProblemKind::UnknownTarget { target, suggestion } => {
                write!(
                    f,
                    "`{state}` goes to `{target}`, which is not a state of this workflow"
                )?;
                did_you_mean(f, suggestion)
            }
            ProblemKind::UnknownWorkflow { name } => write!(f, "unknown workflow `{name}`"),
            ProblemKind::Unreachable => write!(
                f,
                "state `{state}` is unreachable: no path from the start state leads to it; \
                 route a `next`, choice target or catch to it, or remove it"
            ),
            ProblemKind::NoWayToEnd => write!(
                f,
                "no terminal state can be reached from `{state}`: every execution that gets here \
                 runs forever; add a path to a #[succeed] or #[fail] state, or end a task with `end`"
            ),
            ProblemKind::PassCycle { cycle } => write!(
                f,
                "pass states {} only lead to each other, so an execution would loop without \
                 progress; send one of them to a state that does work or ends",
                cycle
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(" -> ")
            ),
            ProblemKind::PolicyOnWrongKind { policy, kind } => write!(
                f,
                "#[{policy}] applies only to task, parallel and map states, but `{state}` is a \
                 {} state, which cannot fail",
                kind.to_lowercase()
            ),
            ProblemKind::AnyNotLast { policy } => write!(
                f,
                "`any` must be in the last #[{policy}] of a state: the ones after it could never match; \
                 move this #[{policy}] last"
            ),
            ProblemKind::AnyNotAlone => write!(
                f,
                "`any` matches every error, so it must be alone in its list; remove the other errors"
            ),
            ProblemKind::NoErrors { policy } => write!(
                f,
                "this #[{policy}] lists no errors, so it can never match; name some in `on = [...]`"
            ),
            ProblemKind::BadBackoff { backoff } => write!(
                f,
                "backoff must be a number of at least 1.0 (delays may not shrink), not {backoff}"
            ),
            ProblemKind::ZeroDuration { what } => {
                write!(
                    f,
                    "a {what} of zero would fail every attempt; use a positive duration"
                )
            }
            ProblemKind::HeartbeatNotBelowTimeout => write!(
                f,
                "the heartbeat interval must be shorter than the timeout, or it can never fire"
            ),
            ProblemKind::NoTargets => {
                write!(f, "a choice needs at least one target: `next = [A, B]`")
            }
            ProblemKind::DuplicateTarget { target } => {
                write!(f, "`{target}` is listed twice among this choice's targets")
            }
            ProblemKind::NoBranches => {
                write!(
                    f,
                    "a parallel state needs at least one branch: `branches = [A, B]`"
                )
            }
            ProblemKind::BadPercentage { percentage } => write!(
                f,
                "a tolerated failure percentage must be between 0 and 100, not {percentage}"
            ),
        }
    }
}

fn did_you_mean(f: &mut fmt::Formatter<'_>, suggestion: &Option<String>) -> fmt::Result {
    match suggestion {
        Some(s) => write!(f, "; did you mean `{s}`?"),
        None => Ok(()),
    }
}

/// Checks a definition against every rule; an empty list means it is sound.
///
/// Problems come in a stable order: name rules (duplicates, unknown start and
/// targets), then per-state rules in declaration order, then graph rules.
/// Graph rules run only when every name resolves.
pub fn check(def: &Definition) -> Vec<Problem> {
    let mut problems = Vec::new();
    if def.states.is_empty() {
        problems.push(Problem {
            state: None,
            locus: Locus::State,
            kind: ProblemKind::NoStates,
        });
        return problems;
    }
    let names_resolve = check_names(def, &mut problems);
    for state in def.states.iter() {
        check_state(state, &mut problems);
    }
    if names_resolve {
        check_graph(def, &mut problems);
    }
    problems
}

fn problem(state: &State, locus: Locus, kind: ProblemKind) -> Problem {
    Problem {
        state: Some(state.name.to_string()),
        locus,
        kind,
    }
}

/// Unique names, a known start, known targets. Returns whether all resolve.
fn check_names(def: &Definition, problems: &mut Vec<Problem>) -> bool {
    let before = problems.len();
    let mut seen = HashSet::new();
    for state in def.states.iter() {
        if !seen.insert(&*state.name) {
            problems.push(problem(state, Locus::State, ProblemKind::DuplicateState));
        }
    }
    let names = || def.states.iter().map(|s| &*s.name);
    if def.index_of(&def.start).is_none() {
        problems.push(Problem {
            state: None,
            locus: Locus::Start,
            kind: ProblemKind::UnknownStart {
                name: def.start.to_string(),
                suggestion: closest(&def.start, names()).map(str::to_owned),
            },
        });
    }
    for state in def.states.iter() {
        for edge in state.edges() {
            if def.index_of(edge.to).is_some() {
                continue;
            }
            let locus = match edge.kind {
                crate::EdgeKind::Next => Locus::Next,
                crate::EdgeKind::Choice(i) => Locus::ChoiceTarget(i),
                crate::EdgeKind::Catch(i) => Locus::CatcherNext(i),
            };
            problems.push(problem(
                state,
                locus,
                ProblemKind::UnknownTarget {
                    target: edge.to.to_owned(),
                    suggestion: closest(edge.to, names()).map(str::to_owned),
                },
            ));
        }
    }
    problems.len() == before
}

/// Rules that concern one state alone.
fn check_state(state: &State, problems: &mut Vec<Problem>) {
    let mut push = |locus, kind| problems.push(problem(state, locus, kind));
    if !state.kind.can_fail() {
        let kind = state.kind.type_name();
        if !state.retry.is_empty() {
            push(
                Locus::Retrier(0),
                ProblemKind::PolicyOnWrongKind {
                    policy: "retry",
                    kind,
                },
            );
        }
        if !state.catch.is_empty() {
            push(
                Locus::Catcher(0),
                ProblemKind::PolicyOnWrongKind {
                    policy: "catch",
                    kind,
                },
            );
        }
    }
    let retriers = state.retry.iter().map(|r| &*r.on);
    for (i, at, kind) in matcher_problems("retry", retriers) {
        push(
            at.map_or(Locus::Retrier(i), |j| Locus::RetrierOn(i, j)),
            kind,
        );
    }
    let catchers = state.catch.iter().map(|c| &*c.on);
    for (i, at, kind) in matcher_problems("catch", catchers) {
        push(
            at.map_or(Locus::Catcher(i), |j| Locus::CatcherOn(i, j)),
            kind,
        );
    }
    for (i, retrier) in state.retry.iter().enumerate() {
        if !(retrier.backoff >= 1.0 && retrier.backoff.is_finite()) {
            push(
                Locus::RetrierBackoff(i),
                ProblemKind::BadBackoff {
                    backoff: retrier.backoff,
                },
            );
        }
    }
    match &state.kind {
        Kind::Task {
            timeout, heartbeat, ..
        } => {
            if *timeout == Some(std::time::Duration::ZERO) {
                push(
                    Locus::Timeout,
                    ProblemKind::ZeroDuration { what: "timeout" },
                );
            }
            if *heartbeat == Some(std::time::Duration::ZERO) {
                push(
                    Locus::Heartbeat,
                    ProblemKind::ZeroDuration { what: "heartbeat" },
                );
            }
            if let (Some(t), Some(h)) = (timeout, heartbeat)
                && h >= t
                && !h.is_zero()
            {
                push(Locus::Heartbeat, ProblemKind::HeartbeatNotBelowTimeout);
            }
        }
        Kind::Choice { targets, .. } => {
            if targets.is_empty() {
                push(Locus::State, ProblemKind::NoTargets);
            }
            for (i, target) in targets.iter().enumerate() {
                if targets[..i].contains(target) {
                    push(
                        Locus::ChoiceTarget(i),
                        ProblemKind::DuplicateTarget {
                            target: target.to_string(),
                        },
                    );
                }
            }
        }
        Kind::Parallel { branches, .. } if branches.is_empty() => {
            push(Locus::State, ProblemKind::NoBranches);
        }
        Kind::Map { tolerance, .. } => {
            if let Some(p) = tolerance.percentage
                && !(0.0..=100.0).contains(&p)
            {
                push(
                    Locus::Tolerance,
                    ProblemKind::BadPercentage { percentage: p },
                );
            }
        }
        _ => {}
    }
}

/// `any` must be alone in its list and in the last policy; an empty list
/// never matches. Yields (policy index, matcher index if any, problem).
fn matcher_problems<'a>(
    policy: &'static str,
    lists: impl ExactSizeIterator<Item = &'a [ErrorMatcher]>,
) -> Vec<(usize, Option<usize>, ProblemKind)> {
    let count = lists.len();
    let mut found = Vec::new();
    for (i, on) in lists.enumerate() {
        if on.is_empty() {
            found.push((i, None, ProblemKind::NoErrors { policy }));
        }
        for (j, matcher) in on.iter().enumerate() {
            if *matcher != ErrorMatcher::Any {
                continue;
            }
            if on.len() > 1 {
                found.push((i, Some(j), ProblemKind::AnyNotAlone));
            } else if i + 1 < count {
                found.push((i, Some(j), ProblemKind::AnyNotLast { policy }));
            }
        }
    }
    found
}

/// Reachability from the start, a way to an end from every reachable state,
/// and no cycle of pass states.
fn check_graph(def: &Definition, problems: &mut Vec<Problem>) {
    let index: HashMap<&str, usize> = def
        .states
        .iter()
        .enumerate()
        .map(|(i, s)| (&*s.name, i))
        .collect();
    let successors: Vec<Vec<usize>> = def
        .states
        .iter()
        .map(|s| {
            s.edges()
                .iter()
                .filter_map(|e| index.get(e.to).copied())
                .collect()
        })
        .collect();
    let Some(&start) = index.get(&*def.start) else {
        return;
    };

    let reachable = search(
        start..start + 1,
        |i| successors[i].clone(),
        def.states.len(),
    );
    for (i, state) in def.states.iter().enumerate() {
        if !reachable[i] {
            problems.push(problem(state, Locus::State, ProblemKind::Unreachable));
        }
    }

    let cycles = pass_cycles(def, &index);
    let mut in_cycle = vec![false; def.states.len()];
    for cycle in cycles {
        for &member in &cycle {
            in_cycle[member] = true;
        }
        let first = &def.states[cycle[0]];
        problems.push(problem(
            first,
            Locus::Next,
            ProblemKind::PassCycle {
                cycle: cycle
                    .iter()
                    .map(|&i| def.states[i].name.to_string())
                    .collect(),
            },
        ));
    }

    let mut predecessors = vec![Vec::new(); def.states.len()];
    for (from, tos) in successors.iter().enumerate() {
        for &to in tos {
            predecessors[to].push(from);
        }
    }
    let ends = (0..def.states.len()).filter(|&i| def.states[i].can_end());
    let can_end = search(ends, |i| predecessors[i].clone(), def.states.len());
    // A region that leads into a pass cycle is stuck because of the cycle,
    // which is reported already; one message per mistake.
    let cycles = (0..def.states.len()).filter(|&i| in_cycle[i]);
    let leads_to_cycle = search(cycles, |i| predecessors[i].clone(), def.states.len());
    let stuck = |i: usize| reachable[i] && !can_end[i] && !leads_to_cycle[i];
    for (i, state) in def.states.iter().enumerate() {
        // Report where an execution enters a stuck region, not every state in it.
        let entry = i == start || predecessors[i].iter().any(|&p| reachable[p] && !stuck(p));
        if stuck(i) && entry {
            problems.push(problem(state, Locus::State, ProblemKind::NoWayToEnd));
        }
    }
}

/// Breadth-first search; returns which nodes were visited.
fn search(
    from: impl Iterator<Item = usize>,
    neighbours: impl Fn(usize) -> Vec<usize>,
    len: usize,
) -> Vec<bool> {
    let mut seen = vec![false; len];
    let mut queue: VecDeque<usize> = VecDeque::new();
    for i in from {
        seen[i] = true;
        queue.push_back(i);
    }
    while let Some(i) = queue.pop_front() {
        for j in neighbours(i) {
            if !seen[j] {
                seen[j] = true;
                queue.push_back(j);
            }
        }
    }
    seen
}

/// Cycles made only of pass states, each listed once from its first-declared
/// member.
fn pass_cycles(def: &Definition, index: &HashMap<&str, usize>) -> Vec<Vec<usize>> {
    let next_pass = |i: usize| match &def.states[i].kind {
        Kind::Pass { next, .. } => index.get(&**next).copied(),
        _ => None,
    };
    let mut reported = vec![false; def.states.len()];
    let mut cycles = Vec::new();
    for i in 0..def.states.len() {
        if reported[i] || !matches!(def.states[i].kind, Kind::Pass { .. }) {
            continue;
        }
        // Walk pass states from i; a pass chain has one successor, so a cycle
        // through i exists exactly when the walk comes back to i.
        let mut path = vec![i];
        let mut current = i;
        while let Some(next) = next_pass(current) {
            if !matches!(def.states[next].kind, Kind::Pass { .. }) {
                break;
            }
            if next == i {
                for &member in &path {
                    reported[member] = true;
                }
                cycles.push(path);
                break;
            }
            if path.contains(&next) {
                break;
            }
            path.push(next);
            current = next;
        }
    }
    cycles
}
