//! The rules, put on the user's tokens: the macro's own (one start, an
//! output type) and every rule of `workflow_core::check`.

use workflow_core::{Definition, ProblemKind};

use crate::ast::{KindSpec, Machine, Matcher, Target};
use crate::ctxt::Errors;
use crate::lower;

pub(crate) fn check(m: &Machine, def: &Definition, errors: &Errors) {
    let parsed_cleanly = errors.is_empty();
    check_start(m, errors);
    check_output(m, errors);
    check_module_name(m, errors);
    check_timeout_matchers(m, errors);
    // A workflow without states is reported as such when parsed; the
    // core's view of it (no start state) would say the same again.
    if m.states.is_empty() {
        return;
    }
    for problem in workflow_core::check(def) {
        let graph_level = matches!(
            problem.kind,
            ProblemKind::Unreachable
                | ProblemKind::NoWayToEnd
                | ProblemKind::PassCycle { .. }
                | ProblemKind::NoErrors { .. }
        );
        // After a parse error the model is incomplete (a catch that did not
        // parse leaves its target unreachable, a misspelt error class leaves
        // an empty list); one message per mistake.
        if graph_level && !parsed_cleanly {
            continue;
        }
        errors.at(
            lower::span_of(m, problem.state.as_deref(), problem.locus),
            &problem,
        );
    }
}

fn check_start(m: &Machine, errors: &Errors) {
    let mut starts = m.states.iter().filter(|s| s.start.is_some());
    match starts.next() {
        None if !m.states.is_empty() => errors.spanned(
            m.ident(),
            format!(
                "workflow `{}` has no start state: mark the state executions begin in with #[start]",
                m.ident()
            ),
        ),
        Some(first) => {
            for other in starts {
                if let Some(span) = other.start {
                    errors.at(
                        span,
                        format!(
                            "a workflow has one start state, and `{}` is already marked #[start]; remove this one",
                            first.ident
                        ),
                    );
                }
            }
        }
        None => {}
    }
}

/// A workflow that ends only through `end` must name its output type.
fn check_output(m: &Machine, errors: &Errors) {
    if m.args.output.is_some() {
        return;
    }
    let has_succeed = m
        .states
        .iter()
        .any(|s| matches!(s.kind.as_ref().map(|k| &k.spec), Some(KindSpec::Succeed)));
    if has_succeed {
        return;
    }
    let end = m
        .states
        .iter()
        .find_map(|s| match s.kind.as_ref().map(|k| &k.spec) {
            Some(
                KindSpec::Task { next, .. }
                | KindSpec::Parallel { next, .. }
                | KindSpec::Map { next, .. },
            ) => match next {
                Target::End(span) => Some(*span),
                Target::Next(_) => None,
            },
            _ => None,
        });
    if let Some(span) = end {
        errors.at(
            span,
            "this workflow has no #[succeed] state, so the compiler cannot tell its output type from `end`; \
             name it: #[workflow(output = T)]",
        );
    }
}

/// The generated module is named after the enum; a few names cannot be one.
fn check_module_name(m: &Machine, errors: &Errors) {
    use heck::ToSnakeCase;
    let has_choice = m.states.iter().any(|s| {
        matches!(
            s.kind.as_ref().map(|k| &k.spec),
            Some(KindSpec::Choice { .. })
        )
    });
    let name = m.ident().to_string().to_snake_case();
    if has_choice && m.args.module.is_none() && crate::choices::UNRAWABLE.contains(&name.as_str()) {
        errors.spanned(
            m.ident(),
            format!(
                "the choice enums go in a module named after the workflow, but `{name}` cannot name a module; \
                 choose one: #[workflow(module = {name}_states)]"
            ),
        );
    }
}

/// A task times out only under its own `timeout` or `heartbeat`: without
/// them, a retrier or catcher on `timeout` or `heartbeat_timeout` can never
/// match, and is refused like retry on a state that cannot fail.
fn check_timeout_matchers(m: &Machine, errors: &Errors) {
    for s in &m.states {
        let Some(KindSpec::Task {
            timeout, heartbeat, ..
        }) = s.kind.as_ref().map(|k| &k.spec)
        else {
            continue;
        };
        let matchers = s
            .retry
            .iter()
            .map(|r| ("retry", &r.on))
            .chain(s.catch.iter().map(|c| ("catch", &c.on)));
        for (policy, on) in matchers {
            for matcher in on {
                match matcher {
                    Matcher::Timeout(span) if timeout.is_none() && heartbeat.is_none() => {
                        errors.at(
                            *span,
                            format!(
                                "this #[{policy}] on `timeout` can never match: task `{}` has no `timeout` or `heartbeat`; \
                                 give it one (`#[task(..., timeout = \"30s\")]`) or leave `timeout` out",
                                s.ident
                            ),
                        )
                    }
                    Matcher::HeartbeatTimeout(span) if heartbeat.is_none() => errors.at(
                        *span,
                        format!(
                            "this #[{policy}] on `heartbeat_timeout` can never match: task `{}` has no `heartbeat`; \
                             give it one (`#[task(..., heartbeat = \"10s\")]`) or leave `heartbeat_timeout` out",
                            s.ident
                        ),
                    ),
                    _ => {}
                }
            }
        }
    }
}
