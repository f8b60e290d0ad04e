//! The kind attributes of a state: `#[task]`, `#[choice]`, `#[pass]`,
//! `#[wait]`, `#[parallel]`, `#[map]`, `#[succeed]` and `#[fail]`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, LitStr, Path};

use super::collect::{Collected, Shape, collect};
use super::duration;
use super::values::{FailCause, KindSpec, Target, Wait};
use crate::args;
use crate::ctxt::Errors;

pub(super) fn parse_kind(kind: &str, attr: &Attribute, errors: &Errors) -> Option<KindSpec> {
    let span = attr.path().span();
    match kind {
        "task" => {
            let c = collect(
                attr,
                &Shape {
                    attr: "task",
                    positional: Some("handler"),
                    keys: &["next", "timeout", "heartbeat"],
                    flags: &["end"],
                    lists: &[],
                },
                errors,
            )?;
            let handler = require_handler(
                &c,
                "task",
                "#[task(my_handler, next = State)]",
                span,
                errors,
            );
            let next = target(&c, "task", span, errors);
            let timeout = c
                .get("timeout")
                .and_then(|v| duration("timeout", v, errors));
            let heartbeat = c
                .get("heartbeat")
                .and_then(|v| duration("heartbeat", v, errors));
            Some(KindSpec::Task {
                handler: handler?,
                next: next?,
                timeout,
                heartbeat,
            })
        }
        "choice" => {
            let c = collect(
                attr,
                &Shape {
                    attr: "choice",
                    positional: Some("handler"),
                    keys: &["next"],
                    flags: &[],
                    lists: &["next"],
                },
                errors,
            )?;
            let handler = require_handler(
                &c,
                "choice",
                "#[choice(route, next = [A, B])]",
                span,
                errors,
            );
            let targets = match c.get("next") {
                Some(value) => args::as_list(value, "next", errors).map(|items| {
                    items
                        .into_iter()
                        .filter_map(|e| args::as_ident(e, errors))
                        .collect()
                }),
                None => {
                    errors.at(
                        span,
                        "#[choice] needs its targets: `next = [A, B]`, the only states it may go to",
                    );
                    None
                }
            };
            // Without its handler (reported above) the state keeps its
            // targets: the choice enum is generated from them, so the user's
            // function that returns it still compiles. The placeholder is
            // never called, as the fallback expansion follows the error.
            let handler = handler.unwrap_or_else(|| Path::from(Ident::new("__no_handler", span)));
            Some(KindSpec::Choice {
                handler,
                targets: targets?,
            })
        }
        "pass" => {
            let c = collect(
                attr,
                &Shape {
                    attr: "pass",
                    positional: Some("function"),
                    keys: &["next"],
                    flags: &[],
                    lists: &[],
                },
                errors,
            )?;
            let next = match c.get("next") {
                Some(v) => args::as_ident(v, errors),
                None => {
                    errors.at(span, "#[pass] needs `next = State`");
                    None
                }
            };
            Some(KindSpec::Pass {
                handler: c.positional.clone(),
                next: next?,
            })
        }
        "wait" => parse_wait(attr, span, errors),
        "parallel" => {
            let c = collect(
                attr,
                &Shape {
                    attr: "parallel",
                    positional: None,
                    keys: &["branches", "next"],
                    flags: &["end"],
                    lists: &["branches"],
                },
                errors,
            )?;
            let branches = match c.get("branches") {
                Some(v) => args::as_list(v, "branches", errors).map(|items| {
                    items
                        .into_iter()
                        .filter_map(|e| args::as_path(e, "a workflow type", errors))
                        .collect()
                }),
                None => {
                    errors.at(
                        span,
                        "#[parallel] needs its branches: `branches = [WorkflowA, WorkflowB]`",
                    );
                    None
                }
            };
            let next = target(&c, "parallel", span, errors);
            Some(KindSpec::Parallel {
                branches: branches?,
                next: next?,
            })
        }
        "map" => {
            let c = collect(
                attr,
                &Shape {
                    attr: "map",
                    positional: Some("item workflow"),
                    keys: &[
                        "items",
                        "max_concurrency",
                        "tolerated_failures",
                        "tolerated_failure_percentage",
                        "next",
                    ],
                    flags: &["end"],
                    lists: &[],
                },
                errors,
            )?;
            let workflow = c.positional.clone();
            if workflow.is_none() {
                errors.at(
                    span,
                    "#[map] needs the workflow that runs each item first: #[map(ItemWorkflow, items = f, next = State)]",
                );
            }
            let items = match c.get("items") {
                Some(v) => args::as_path(v, "the function that lists the items", errors),
                None => {
                    errors.at(
                        span,
                        "#[map] needs `items = f`, where `f(&Input)` lists the items",
                    );
                    None
                }
            };
            let max_concurrency = c
                .get("max_concurrency")
                .map_or(Some(0), |v| args::as_u32(v, "max_concurrency", errors));
            let tolerated_failures = c
                .get("tolerated_failures")
                .and_then(|v| args::as_u32(v, "tolerated_failures", errors));
            let tolerated_percentage = c.get("tolerated_failure_percentage").and_then(|v| {
                args::as_f64(v, "tolerated_failure_percentage", errors)
                    .map(|p| (p, args::span_of(v)))
            });
            let next = target(&c, "map", span, errors);
            Some(KindSpec::Map {
                workflow: workflow?,
                items: items?,
                max_concurrency: max_concurrency?,
                tolerated_failures,
                tolerated_percentage,
                next: next?,
            })
        }
        "succeed" => {
            let c = collect(
                attr,
                &Shape {
                    attr: "succeed",
                    positional: None,
                    keys: &["next"],
                    flags: &["end"],
                    lists: &[],
                },
                errors,
            )?;
            terminal_without_next(&c, "succeed", errors);
            Some(KindSpec::Succeed)
        }
        "fail" => {
            let c = collect(
                attr,
                &Shape {
                    attr: "fail",
                    positional: None,
                    keys: &["error", "cause", "next"],
                    flags: &["end"],
                    lists: &[],
                },
                errors,
            )?;
            terminal_without_next(&c, "fail", errors);
            let error = match c.get("error") {
                Some(Expr::Path(path))
                    if path.qself.is_none() && path.path.get_ident().is_some() =>
                {
                    let name = args::path_name(&path.path);
                    errors.spanned(
                        path,
                        format!("the error name is a string: `error = \"{name}\"`"),
                    );
                    Some(LitStr::new(&name, path.span()))
                }
                Some(v) => lit_str(v, "error = \"OrderCancelled\"", errors),
                None => {
                    errors.at(
                        span,
                        "#[fail] needs the error name the execution fails with: #[fail(error = \"OrderCancelled\")]",
                    );
                    None
                }
            };
            // A string is the cause; a name is the data's field that holds it.
            let cause = c.get("cause").and_then(|v| match v {
                Expr::Path(path) if path.qself.is_none() => match path.path.get_ident() {
                    Some(field) => Some(FailCause::Field(field.clone())),
                    None => {
                        errors.at(
                            path.span(),
                            "`cause` is a text or the name of one of the data's fields: \
                             cause = \"why it failed\" or cause = reason",
                        );
                        None
                    }
                },
                _ => lit_str(
                    v,
                    "cause = \"why it failed\" (or a field of the data: cause = reason)",
                    errors,
                )
                .map(FailCause::Fixed),
            });
            Some(KindSpec::Fail {
                error: error?,
                cause,
            })
        }
        _ => None,
    }
}

fn terminal_without_next(c: &Collected, attr: &str, errors: &Errors) {
    let ends = if attr == "succeed" {
        "ends the execution successfully"
    } else {
        "ends the execution as failed"
    };
    if let Some(key) = c.key("next") {
        errors.spanned(
            key,
            format!("a #[{attr}] state {ends}, so it has no `next`; remove it"),
        );
    }
    if let Some(span) = c.flag("end") {
        errors.at(
            span,
            format!("a #[{attr}] state always {ends}; `end` is for tasks, parallels and maps"),
        );
    }
}

fn lit_str(value: &Expr, example: &str, errors: &Errors) -> Option<LitStr> {
    args::as_str(value, example, errors).map(|(s, span)| LitStr::new(&s, span))
}

fn require_handler(
    c: &Collected,
    attr: &str,
    example: &str,
    span: Span,
    errors: &Errors,
) -> Option<Path> {
    if c.positional.is_none() {
        errors.at(
            span,
            format!("#[{attr}] needs a handler function first: {example}"),
        );
    }
    c.positional.clone()
}

/// `next = State` or `end`, exactly one of them.
fn target(c: &Collected, attr: &str, span: Span, errors: &Errors) -> Option<Target> {
    match (c.get("next"), c.flag("end")) {
        (Some(Expr::Array(list)), None) => {
            let first = list
                .elems
                .first()
                .map(|e| quote::quote!(#e).to_string().replace(' ', ""))
                .unwrap_or_else(|| "State".to_owned());
            errors.spanned(
                list,
                format!(
                    "a #[{attr}] state goes on to one state: `next = {first}`; to go on to one of several, \
                     make that state a #[choice] that lists them"
                ),
            );
            None
        }
        (Some(value), None) => args::as_ident(value, errors).map(Target::Next),
        (None, Some(end)) => Some(Target::End(end)),
        (Some(_), Some(end)) => {
            errors.at(
                end,
                format!("#[{attr}] has both `next` and `end`; keep one: where does its output go?"),
            );
            None
        }
        (None, None) => {
            errors.at(
                span,
                format!(
                    "#[{attr}] needs `next = State` (where its output goes) or `end` (its output is the workflow's output)"
                ),
            );
            None
        }
    }
}

fn parse_wait(attr: &Attribute, span: Span, errors: &Errors) -> Option<KindSpec> {
    const HOW: [&str; 4] = ["seconds", "duration", "until", "delay"];
    let c = collect(
        attr,
        &Shape {
            attr: "wait",
            positional: None,
            keys: &["seconds", "duration", "until", "delay", "next"],
            flags: &[],
            lists: &[],
        },
        errors,
    )?;
    let given: Vec<&Ident> = HOW.iter().filter_map(|k| c.key(k)).collect();
    if given.len() > 1 {
        errors.spanned(
            given[1],
            format!(
                "#[wait] takes one of `seconds`, `duration`, `until` or `delay`, but `{}` and `{}` are both given",
                given[0], given[1]
            ),
        );
        return None;
    }
    let how = if let Some(v) = c.get("seconds") {
        args::as_u64(v, "seconds", errors).map(Wait::Seconds)
    } else if let Some(v) = c.get("duration") {
        duration("duration", v, errors).map(Wait::Duration)
    } else if let Some(v) = c.get("until") {
        args::as_path(v, "a function `fn(&Input) -> SystemTime`", errors).map(Wait::Until)
    } else if let Some(v) = c.get("delay") {
        args::as_path(v, "a function `fn(&Input) -> Duration`", errors).map(Wait::Delay)
    } else {
        errors.at(
            span,
            "#[wait] needs how long: `seconds = 60`, `duration = \"1h\"`, `until = f` or `delay = f`",
        );
        None
    };
    let next = match c.get("next") {
        Some(v) => args::as_ident(v, errors),
        None => {
            errors.at(span, "#[wait] needs `next = State`");
            None
        }
    };
    Some(KindSpec::Wait {
        how: how?,
        next: next?,
    })
}
