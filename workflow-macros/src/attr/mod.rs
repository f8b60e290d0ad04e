//! Interpreting each attribute: the known keys of each, their values, and a
//! spanned error for anything else (with the keys it does know).

mod collect;
mod kinds;
mod machine;
mod names;
mod policies;

use std::time::Duration;

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Type};

use crate::args;
use crate::ast::{Dur, KindAst, StateAst};
use crate::ctxt::Errors;

use kinds::parse_kind;
pub(crate) use machine::parse_machine_args;
use names::KIND_ATTRS;
pub(crate) use names::take_ours;
use policies::{parse_catch, parse_retry};

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
    // The kind first named on this state, parsed or not.
    let mut kind_named: Option<&'static str> = None;
    for attr in attrs {
        let name = names::attr_name(attr).unwrap_or_default();
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
                if let Some(first) = kind_named {
                    errors.at(
                        span,
                        format!(
                            "state `{}` already is a {first} state; a state has exactly one kind",
                            state.ident,
                        ),
                    );
                } else {
                    // A kind that did not parse is reported already; the
                    // state stays without one (so the fallback reads no type
                    // from it), and "no kind" is not reported on top.
                    kind_named = KIND_ATTRS.iter().copied().find(|k| *k == kind);
                    state.kind = parsed.map(|spec| KindAst { span, spec });
                }
            }
        }
    }
    if kind_named.is_none() && !had_typo {
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

/// A duration string such as `"200ms"` or `"1h 30m"`, the value of `key`.
fn duration(key: &str, value: &Expr, errors: &Errors) -> Option<Dur> {
    if let Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Int(int),
        ..
    }) = value
    {
        // A bare number: its unit is what is missing. Read as seconds, so
        // the attribute still counts.
        let n = int.base10_parse::<u64>().ok()?;
        errors.spanned(
            int,
            format!("`{key}` is a duration in a string, with its unit: `{key} = \"{n}s\"`"),
        );
        return Some(Dur {
            value: Duration::from_secs(n),
            span: int.span(),
        });
    }
    let example = format!("{key} = \"10s\"");
    let (text, span) = args::as_str(value, &example, errors)?;
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

/// A duration as the tokens of a `Duration` constant, for generated code.
pub(crate) fn duration_tokens(d: Duration) -> TokenStream {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    quote::quote!(::core::time::Duration::new(#secs, #nanos))
}
