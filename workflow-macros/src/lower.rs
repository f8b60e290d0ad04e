//! From the syn-level model to `workflow_core`'s definition, so the one
//! validator judges it; and back from a problem's locus to the user's tokens.

use std::borrow::Cow;

use proc_macro2::Span;
use quote::ToTokens;
use syn::Path;
use syn::spanned::Spanned;
use workflow_core::{
    Catcher, Definition, ErrorMatcher, Kind, Locus, Retrier, State, Tolerance, Transition, WaitFor,
};

use crate::ast::{FailCause, KindSpec, Machine, Matcher, StateAst, Target, Wait};

/// The definition the macro embeds and checks.
pub(crate) fn definition(m: &Machine) -> Definition {
    let start = m
        .start()
        .or(m.states.first())
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    Definition {
        name: m.ident().to_string().into(),
        start: start.into(),
        timeout: m.args.timeout.map(|d| d.value),
        states: Cow::Owned(m.states.iter().map(state).collect()),
    }
}

fn state(s: &StateAst) -> State {
    let kind = match s.kind.as_ref().map(|k| &k.spec) {
        // A state whose kind did not parse has an error already; lowering it
        // as Succeed keeps it from causing graph errors of its own.
        None | Some(KindSpec::Succeed) => Kind::Succeed,
        Some(KindSpec::Task {
            handler,
            next,
            timeout,
            heartbeat,
        }) => Kind::Task {
            handler: path_text(handler).into(),
            next: transition(next),
            timeout: timeout.map(|d| d.value),
            heartbeat: heartbeat.map(|d| d.value),
        },
        Some(KindSpec::Choice { handler, targets }) => Kind::Choice {
            handler: path_text(handler).into(),
            targets: Cow::Owned(targets.iter().map(|t| t.to_string().into()).collect()),
        },
        Some(KindSpec::Pass { handler, next }) => Kind::Pass {
            handler: handler.as_ref().map(|h| path_text(h).into()),
            next: next.to_string().into(),
        },
        Some(KindSpec::Wait { how, next }) => Kind::Wait {
            wait: match how {
                Wait::Seconds(n) => WaitFor::Seconds(*n),
                Wait::Duration(d) => WaitFor::Duration(d.value),
                Wait::Until(f) => WaitFor::Until(path_text(f).into()),
                Wait::Delay(f) => WaitFor::Delay(path_text(f).into()),
            },
            next: next.to_string().into(),
        },
        Some(KindSpec::Parallel { branches, next }) => Kind::Parallel {
            branches: Cow::Owned(branches.iter().map(|b| path_text(b).into()).collect()),
            next: transition(next),
        },
        Some(KindSpec::Map {
            workflow,
            items,
            max_concurrency,
            tolerated_failures,
            tolerated_percentage,
            next,
        }) => Kind::Map {
            workflow: path_text(workflow).into(),
            items: path_text(items).into(),
            max_concurrency: *max_concurrency,
            tolerance: Tolerance {
                count: *tolerated_failures,
                percentage: tolerated_percentage.map(|(p, _)| p),
            },
            next: transition(next),
        },
        Some(KindSpec::Fail { error, cause }) => Kind::Fail {
            error: error.value().into(),
            // A field's cause is known only at run time.
            cause: match cause {
                Some(FailCause::Fixed(text)) => Some(text.value().into()),
                Some(FailCause::Field(_)) | None => None,
            },
        },
    };
    State {
        name: s.ident.to_string().into(),
        data: type_text(&s.ty).into(),
        kind,
        retry: Cow::Owned(
            s.retry
                .iter()
                .map(|r| Retrier {
                    on: Cow::Owned(r.on.iter().map(matcher).collect()),
                    max_attempts: r.max_attempts,
                    interval: r.interval,
                    backoff: r.backoff,
                    max_delay: r.max_delay,
                    jitter: r.jitter,
                })
                .collect(),
        ),
        catch: Cow::Owned(
            s.catch
                .iter()
                .map(|c| Catcher {
                    on: Cow::Owned(c.on.iter().map(matcher).collect()),
                    next: c.next.to_string().into(),
                })
                .collect(),
        ),
    }
}

fn transition(target: &Target) -> Transition {
    match target {
        Target::Next(ident) => Transition::Next(ident.to_string().into()),
        Target::End(_) => Transition::End,
    }
}

fn matcher(m: &Matcher) -> ErrorMatcher {
    match m {
        Matcher::Any(_) => ErrorMatcher::Any,
        Matcher::TaskFailed(_) => ErrorMatcher::TaskFailed,
        Matcher::Timeout(_) => ErrorMatcher::Timeout,
        Matcher::HeartbeatTimeout(_) => ErrorMatcher::HeartbeatTimeout,
        Matcher::Variant(path) => ErrorMatcher::Named(error_name(path).into()),
    }
}

/// `Type.Variant` from a path `...::Type::Variant`, matching the runtime's
/// naming of error values.
pub(crate) fn error_name(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    match segments.as_slice() {
        [.., ty, variant] => format!("{ty}.{variant}"),
        [only] => only.clone(),
        [] => String::new(),
    }
}

/// A path as the user wrote it, without token spacing.
pub(crate) fn path_text(path: &Path) -> String {
    tidy(path.to_token_stream().to_string())
}

/// A type as the user wrote it, without token spacing.
pub(crate) fn type_text(ty: &syn::Type) -> String {
    tidy(ty.to_token_stream().to_string())
}

fn tidy(text: String) -> String {
    text.replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" <", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
        .replace("( ", "(")
        .replace(" )", ")")
}

/// The user's tokens that a problem is about.
pub(crate) fn span_of(m: &Machine, state: Option<&str>, locus: Locus) -> Span {
    let Some(s) = state.and_then(|name| m.states.iter().find(|s| s.ident == name)) else {
        return m.ident().span();
    };
    let kind = s.kind.as_ref();
    let kind_span = kind.map_or(s.ident.span(), |k| k.span);
    let spec = kind.map(|k| &k.spec);
    let target_span = |t: &Target| match t {
        Target::Next(ident) => ident.span(),
        Target::End(span) => *span,
    };
    match locus {
        Locus::State => s.ident.span(),
        Locus::Start => s.start.unwrap_or(s.ident.span()),
        Locus::Next => match spec {
            Some(
                KindSpec::Task { next, .. }
                | KindSpec::Parallel { next, .. }
                | KindSpec::Map { next, .. },
            ) => target_span(next),
            Some(KindSpec::Pass { next, .. } | KindSpec::Wait { next, .. }) => next.span(),
            _ => kind_span,
        },
        Locus::ChoiceTarget(i) => match spec {
            Some(KindSpec::Choice { targets, .. }) => {
                targets.get(i).map_or(kind_span, |t| t.span())
            }
            _ => kind_span,
        },
        Locus::Branch(i) => match spec {
            Some(KindSpec::Parallel { branches, .. }) => {
                branches.get(i).map_or(kind_span, |b| b.span())
            }
            _ => kind_span,
        },
        Locus::Timeout => match spec {
            Some(KindSpec::Task {
                timeout: Some(d), ..
            }) => d.span,
            _ => kind_span,
        },
        Locus::Heartbeat => match spec {
            Some(KindSpec::Task {
                heartbeat: Some(d), ..
            }) => d.span,
            _ => kind_span,
        },
        Locus::Tolerance => match spec {
            Some(KindSpec::Map {
                tolerated_percentage: Some((_, span)),
                ..
            }) => *span,
            _ => kind_span,
        },
        Locus::Retrier(i) => s.retry.get(i).map_or(kind_span, |r| r.span),
        Locus::RetrierBackoff(i) => s.retry.get(i).map_or(kind_span, |r| r.backoff_span),
        Locus::RetrierOn(i, j) => s
            .retry
            .get(i)
            .and_then(|r| r.on.get(j))
            .map_or(kind_span, Matcher::span),
        Locus::Catcher(i) => s.catch.get(i).map_or(kind_span, |c| c.span),
        Locus::CatcherNext(i) => s.catch.get(i).map_or(kind_span, |c| c.next.span()),
        Locus::CatcherOn(i, j) => s
            .catch
            .get(i)
            .and_then(|c| c.on.get(j))
            .map_or(kind_span, Matcher::span),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_take_the_last_two_segments() {
        let path: Path = syn::parse_quote!(crate::errors::ShopError::Busy);
        assert_eq!(error_name(&path), "ShopError.Busy");
        let path: Path = syn::parse_quote!(Busy);
        assert_eq!(error_name(&path), "Busy");
    }

    #[test]
    fn type_text_drops_token_spacing() {
        let ty: syn::Type = syn::parse_quote!(Vec<(InvoiceId, EmailId)>);
        assert_eq!(type_text(&ty), "Vec<(InvoiceId, EmailId)>");
        let ty: syn::Type = syn::parse_quote!(&'static str);
        assert_eq!(type_text(&ty), "&'static str");
    }
}
