//! Interpreting each attribute: the known keys of each, their values, and a
//! spanned error for anything else (with the keys it does know).

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, LitStr, Path, Token, Type};
use workflow_core::Jitter;

use crate::args::{self, Arg};
use crate::ast::{
    CatchAst, Dur, FailCause, KindAst, KindSpec, MachineArgs, MatcherAst, RetryAst, StateAst,
    Target, WaitAst,
};
use crate::ctxt::Errors;

/// The keys of `#[workflow(...)]`.
const MACHINE_KEYS: &[&str] = &["context", "output", "timeout", "crate", "module"];

/// Parses `#[workflow(context = C, output = T, timeout = "1h", crate = path, module = name)]`.
pub(crate) fn parse_machine_args(tokens: TokenStream, errors: &Errors) -> MachineArgs {
    let mut parsed = MachineArgs {
        context: None,
        output: None,
        timeout: None,
        krate: syn::parse_quote!(::workflow),
        module: None,
    };
    let mut seen: Vec<String> = Vec::new();
    let parser = |input: ParseStream| {
        while !input.is_empty() {
            let key = Ident::parse_any(input)?;
            let name = key.to_string();
            input.parse::<Token![=]>()?;
            if seen.contains(&name) {
                errors.spanned(&key, format!("`{name}` is given twice"));
            }
            seen.push(name.clone());
            match name.as_str() {
                "context" => parsed.context = Some(input.parse::<Type>()?),
                "output" => parsed.output = Some(input.parse::<Type>()?),
                "crate" => parsed.krate = Path::parse_mod_style(input)?,
                "module" => parsed.module = Some(input.parse::<Ident>()?),
                "timeout" => {
                    let value: Expr = input.parse()?;
                    parsed.timeout = duration(&value, errors);
                }
                _ => {
                    unknown_key(&key, "workflow", MACHINE_KEYS, errors);
                    // Skip the value so the remaining keys are still read.
                    input.parse::<Expr>()?;
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    parsed
}

/// Parses the workflow attributes of one variant into a state.
pub(crate) fn parse_state(
    ident: Ident,
    ty: Type,
    attrs: &[Attribute],
    had_typo: bool,
    errors: &Errors,
) -> StateAst {
    let mut state = StateAst {
        ident,
        ty,
        start: None,
        kind: None,
        retry: Vec::new(),
        catch: Vec::new(),
    };
    for attr in attrs {
        let name = attr
            .path()
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        let span = attr.path().span();
        match name.as_str() {
            "start" => {
                if !matches!(attr.meta, syn::Meta::Path(_)) {
                    errors.spanned(&attr.meta, "#[start] takes no arguments");
                }
                if state.start.is_some() {
                    errors.at(span, "#[start] is given twice on this state");
                }
                state.start = Some(span);
            }
            "retry" => {
                if let Some(retry) = parse_retry(attr, errors) {
                    state.retry.push(retry);
                }
            }
            "catch" => {
                if let Some(catch) = parse_catch(attr, errors) {
                    state.catch.push(catch);
                }
            }
            kind => {
                let parsed = parse_kind(kind, attr, errors);
                if let Some(first) = &state.kind {
                    errors.at(
                        span,
                        format!(
                            "state `{}` already is a {} state; a state has exactly one kind",
                            state.ident,
                            first.spec.attr_name()
                        ),
                    );
                } else if let Some(spec) = parsed {
                    state.kind = Some(KindAst { span, spec });
                } else {
                    // The kind was named but malformed (already reported);
                    // a placeholder keeps "no kind" from being reported too.
                    state.kind = Some(KindAst {
                        span,
                        spec: KindSpec::Succeed,
                    });
                }
            }
        }
    }
    if state.kind.is_none() && !had_typo {
        errors.spanned(
            &state.ident,
            format!(
                "state `{}` has no kind: add one of #[task(handler, next = State)], #[choice(f, next = [A, B])], \
                 #[pass(next = State)], #[wait(seconds = N, next = State)], #[parallel(branches = [..], next = State)], \
                 #[map(Workflow, items = f, next = State)], #[succeed] or #[fail(error = \"Name\")]",
                state.ident
            ),
        );
    }
    state
}

/// The arguments of one attribute, sorted by role, with unknown and repeated
/// keys reported.
struct Collected {
    positional: Option<Path>,
    flags: Vec<(String, Span)>,
    pairs: Vec<(Ident, Expr)>,
}

impl Collected {
    fn get(&self, key: &str) -> Option<&Expr> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn key(&self, key: &str) -> Option<&Ident> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(k, _)| k)
    }

    fn flag(&self, flag: &str) -> Option<Span> {
        self.flags.iter().find(|(f, _)| f == flag).map(|(_, s)| *s)
    }
}

/// What an attribute accepts.
struct Shape<'a> {
    attr: &'a str,
    /// The name of the positional argument, if there is one.
    positional: Option<&'a str>,
    keys: &'a [&'a str],
    flags: &'a [&'a str],
}

fn collect(attr: &Attribute, shape: &Shape<'_>, errors: &Errors) -> Collected {
    let mut collected = Collected {
        positional: None,
        flags: Vec::new(),
        pairs: Vec::new(),
    };
    let mut known: Vec<&str> = shape.keys.to_vec();
    known.extend_from_slice(shape.flags);
    for (i, arg) in args::parse(attr, errors).into_iter().enumerate() {
        match arg {
            Arg::Bare(path) => {
                let flag = path
                    .get_ident()
                    .map(Ident::to_string)
                    .filter(|f| shape.flags.contains(&f.as_str()));
                if let Some(flag) = flag {
                    if collected.flag(&flag).is_some() {
                        errors.spanned(&path, format!("`{flag}` is given twice"));
                    }
                    collected.flags.push((flag, path.span()));
                } else if let (Some(_), 0) = (shape.positional, i) {
                    collected.positional = Some(path);
                } else if let Some(ident) = path.get_ident()
                    && workflow_core::closest(&ident.to_string(), known.iter().copied()).is_some()
                {
                    unknown_key(ident, shape.attr, &known, errors);
                } else {
                    let what = match shape.positional {
                        Some(p) => format!(
                            "unexpected `{}`: only the {p} goes without a key, and it goes first",
                            quote::quote!(#path).to_string().replace(' ', "")
                        ),
                        None => format!(
                            "unexpected `{}`: #[{}] takes only `key = value` arguments ({})",
                            quote::quote!(#path).to_string().replace(' ', ""),
                            shape.attr,
                            list(&known)
                        ),
                    };
                    errors.spanned(&path, what);
                }
            }
            Arg::Pair { key, value } => {
                let name = key.to_string();
                if !shape.keys.contains(&name.as_str()) {
                    unknown_key(&key, shape.attr, &known, errors);
                } else if collected.key(&name).is_some() {
                    errors.spanned(&key, format!("`{name}` is given twice"));
                } else {
                    collected.pairs.push((key, value));
                }
            }
        }
    }
    collected
}

fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_key(key: &Ident, attr: &str, known: &[&str], errors: &Errors) {
    let name = key.unraw().to_string();
    let hint = match workflow_core::closest(&name, known.iter().copied()) {
        Some(close) => format!(" (did you mean `{close}`?)"),
        None => String::new(),
    };
    let known = if known.is_empty() {
        format!("#[{attr}] takes no arguments")
    } else {
        format!("#[{attr}] knows {}", list(known))
    };
    errors.spanned(key, format!("unknown key `{name}`{hint}; {known}"));
}

fn parse_kind(kind: &str, attr: &Attribute, errors: &Errors) -> Option<KindSpec> {
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
                },
                errors,
            );
            let handler = require_handler(
                &c,
                "task",
                "#[task(my_handler, next = State)]",
                span,
                errors,
            );
            let next = target(&c, "task", span, errors);
            let timeout = c.get("timeout").and_then(|v| duration(v, errors));
            let heartbeat = c.get("heartbeat").and_then(|v| duration(v, errors));
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
                },
                errors,
            );
            let handler = require_handler(
                &c,
                "choice",
                "#[choice(route, next = [A, B])]",
                span,
                errors,
            );
            let targets = match c.get("next") {
                Some(value) => args::as_list(value, "next = [A, B]", errors).map(|items| {
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
            Some(KindSpec::Choice {
                handler: handler?,
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
                },
                errors,
            );
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
                },
                errors,
            );
            let branches = match c.get("branches") {
                Some(v) => args::as_list(v, "branches = [A, B]", errors).map(|items| {
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
                },
                errors,
            );
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
                },
                errors,
            );
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
                },
                errors,
            );
            terminal_without_next(&c, "fail", errors);
            let error = match c.get("error") {
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
        },
        errors,
    );
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
        args::as_u64(v, "seconds", errors).map(WaitAst::Seconds)
    } else if let Some(v) = c.get("duration") {
        duration(v, errors).map(WaitAst::Duration)
    } else if let Some(v) = c.get("until") {
        args::as_path(v, "a function `fn(&Input) -> SystemTime`", errors).map(WaitAst::Until)
    } else if let Some(v) = c.get("delay") {
        args::as_path(v, "a function `fn(&Input) -> Duration`", errors).map(WaitAst::Delay)
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

/// A duration string such as `"200ms"` or `"1h 30m"`.
fn duration(value: &Expr, errors: &Errors) -> Option<Dur> {
    let (text, span) = args::as_str(value, "\"10s\"", errors)?;
    match humantime::parse_duration(&text) {
        Ok(value) => Some(Dur { value, span }),
        Err(e) => {
            errors.at(
                span,
                format!(
                    "`{text}` is not a duration ({e}): write a number and a unit, such as \"200ms\", \"10s\", \"5m\" or \"1h 30m\""
                ),
            );
            None
        }
    }
}

fn parse_retry(attr: &Attribute, errors: &Errors) -> Option<RetryAst> {
    let span = attr.path().span();
    let c = collect(
        attr,
        &Shape {
            attr: "retry",
            positional: None,
            keys: &[
                "on",
                "max_attempts",
                "interval",
                "backoff",
                "max_delay",
                "jitter",
            ],
            flags: &[],
        },
        errors,
    );
    let on = on_list(&c, "retry", span, errors);
    let max_attempts = c
        .get("max_attempts")
        .map_or(Some(workflow_core::Retrier::DEFAULT_MAX_ATTEMPTS), |v| {
            args::as_u32(v, "max_attempts", errors)
        });
    let interval = c
        .get("interval")
        .map_or(Some(workflow_core::Retrier::DEFAULT_INTERVAL), |v| {
            duration(v, errors).map(|d| d.value)
        });
    let (backoff, backoff_span) = match c.get("backoff") {
        Some(v) => (args::as_f64(v, "backoff", errors), args::span_of(v)),
        None => (Some(workflow_core::Retrier::DEFAULT_BACKOFF), span),
    };
    let max_delay = match c.get("max_delay") {
        Some(v) => Some(duration(v, errors)?.value),
        None => None,
    };
    let jitter = match c.get("jitter") {
        None => Some(Jitter::None),
        Some(v) => match args::as_ident(v, &Errors::new())
            .map(|i| i.to_string())
            .as_deref()
        {
            Some("full") => Some(Jitter::Full),
            Some("none") => Some(Jitter::None),
            _ => {
                errors.spanned(
                    v,
                    format!(
                        "unknown jitter `{}`: expected `full` (a delay drawn from [0, delay]) or `none`",
                        quote::quote!(#v).to_string().replace(' ', "")
                    ),
                );
                None
            }
        },
    };
    Some(RetryAst {
        span,
        on: on?,
        max_attempts: max_attempts?,
        interval: interval?,
        backoff: backoff?,
        backoff_span,
        max_delay,
        jitter: jitter?,
    })
}

fn parse_catch(attr: &Attribute, errors: &Errors) -> Option<CatchAst> {
    let span = attr.path().span();
    let c = collect(
        attr,
        &Shape {
            attr: "catch",
            positional: None,
            keys: &["on", "next"],
            flags: &[],
        },
        errors,
    );
    let on = on_list(&c, "catch", span, errors);
    let next = match c.get("next") {
        Some(v) => args::as_ident(v, errors),
        None => {
            errors.at(
                span,
                "#[catch] needs `next = State`: the state that receives the input and the error",
            );
            None
        }
    };
    Some(CatchAst {
        span,
        on: on?,
        next: next?,
    })
}

/// The error classes `on = [...]` accepts besides variant paths.
const CLASSES: &[&str] = &["any", "task_failed", "timeout", "heartbeat_timeout"];

fn on_list(c: &Collected, attr: &str, span: Span, errors: &Errors) -> Option<Vec<MatcherAst>> {
    let Some(value) = c.get("on") else {
        errors.at(
            span,
            format!(
                "#[{attr}] needs `on = [...]`: the errors it handles, such as `on = [MyError::Busy, timeout]` or `on = [any]`"
            ),
        );
        return None;
    };
    let items = args::as_list(value, "on = [MyError::Busy, timeout]", errors)?;
    let mut matchers = Vec::new();
    for item in items {
        let Some(path) = args::as_path(
            item,
            "an error variant such as `MyError::Busy`, or one of `any`, `task_failed`, `timeout`, `heartbeat_timeout`",
            errors,
        ) else {
            continue;
        };
        let class = path.get_ident().map(Ident::to_string);
        let span = path.span();
        match class.as_deref() {
            Some("any") => matchers.push(MatcherAst::Any(span)),
            Some("task_failed") => matchers.push(MatcherAst::TaskFailed(span)),
            Some("timeout") => matchers.push(MatcherAst::Timeout(span)),
            Some("heartbeat_timeout") => matchers.push(MatcherAst::HeartbeatTimeout(span)),
            Some(other) if other.starts_with(|c: char| c.is_lowercase()) => {
                let hint = match workflow_core::closest(other, CLASSES.iter().copied()) {
                    Some(close) => format!("did you mean `{close}`? "),
                    None => String::new(),
                };
                errors.at(
                    span,
                    format!(
                        "unknown error class `{other}`; {hint}expected one of {} or a path to an error variant such as `MyError::Busy`",
                        list(CLASSES)
                    ),
                );
            }
            _ => matchers.push(MatcherAst::Variant(path)),
        }
    }
    Some(matchers)
}

/// A duration as the tokens of a `Duration` constant, for generated code.
pub(crate) fn duration_tokens(d: Duration) -> TokenStream {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    quote::quote!(::core::time::Duration::new(#secs, #nanos))
}
