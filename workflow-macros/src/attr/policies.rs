//! `#[retry(...)]` and `#[catch(...)]`, and the error matchers of `on = [...]`.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, Ident};
use workflow_core::Jitter;

use super::collect::{Collected, Shape, collect, list};
use super::duration;
use super::values::{Catch, Matcher, Retry};
use crate::args;
use crate::ctxt::Errors;

pub(super) fn parse_retry(attr: &Attribute, errors: &Errors) -> Option<Retry> {
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
            lists: &["on"],
        },
        errors,
    )?;
    let on = on_list(&c, "retry", span, errors);
    let max_attempts = c
        .get("max_attempts")
        .map_or(Some(workflow_core::Retrier::DEFAULT_MAX_ATTEMPTS), |v| {
            args::as_u32(v, "max_attempts", errors)
        });
    let interval = c
        .get("interval")
        .map_or(Some(workflow_core::Retrier::DEFAULT_INTERVAL), |v| {
            duration("interval", v, errors).map(|d| d.value)
        });
    let (backoff, backoff_span) = match c.get("backoff") {
        Some(v) => (args::as_f64(v, "backoff", errors), args::span_of(v)),
        None => (Some(workflow_core::Retrier::DEFAULT_BACKOFF), span),
    };
    let max_delay = match c.get("max_delay") {
        Some(v) => Some(duration("max_delay", v, errors)?.value),
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
    Some(Retry {
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

pub(super) fn parse_catch(attr: &Attribute, errors: &Errors) -> Option<Catch> {
    let span = attr.path().span();
    let c = collect(
        attr,
        &Shape {
            attr: "catch",
            positional: None,
            keys: &["on", "next"],
            flags: &[],
            lists: &["on"],
        },
        errors,
    )?;
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
    Some(Catch {
        span,
        on: on?,
        next: next?,
    })
}

/// The error classes `on = [...]` accepts besides variant paths.
const CLASSES: &[&str] = &["any", "task_failed", "timeout", "heartbeat_timeout"];

fn on_list(c: &Collected, attr: &str, span: Span, errors: &Errors) -> Option<Vec<Matcher>> {
    let Some(value) = c.get("on") else {
        errors.at(
            span,
            format!(
                "#[{attr}] needs `on = [...]`: the errors it handles, such as `on = [MyError::Busy, timeout]` or `on = [any]`"
            ),
        );
        return None;
    };
    let items = args::as_list(value, "on", errors)?;
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
            Some("any") => matchers.push(Matcher::Any(span)),
            Some("task_failed") => matchers.push(Matcher::TaskFailed(span)),
            Some("timeout") => matchers.push(Matcher::Timeout(span)),
            Some("heartbeat_timeout") => matchers.push(Matcher::HeartbeatTimeout(span)),
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
            _ => matchers.push(Matcher::Variant(path)),
        }
    }
    Some(matchers)
}
