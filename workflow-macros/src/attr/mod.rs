//! Interpreting each attribute: the known keys of each, their values, and a
//! spanned error for anything else (with the keys it does know). Each
//! attribute becomes a plain value (`values.rs`) that says what it said;
//! how a variant's attributes make one state is decided where the AST is
//! built (`build.rs`), so nothing here knows the AST.

mod collect;
mod kinds;
mod machine;
mod names;
mod policies;
mod values;

use std::time::Duration;

use syn::spanned::Spanned;
use syn::{Attribute, Expr};

use crate::args;
use crate::ctxt::Errors;

use kinds::parse_kind;
pub(crate) use machine::parse_machine_args;
use names::KIND_ATTRS;
pub(crate) use names::take_ours;
use policies::{parse_catch, parse_retry};
use values::Dur;
pub(crate) use values::{
    Catch, FailCause, KindSpec, MachineArgs, Matcher, Retry, StateAttr, Target, Wait,
};

/// Reads one of the workflow's attributes of a variant (as `take_ours` sorts
/// them). `None` when it says nothing the state can use: a retry or a catch
/// that did not parse (reported already).
pub(crate) fn parse_state_attr(attr: &Attribute, errors: &Errors) -> Option<StateAttr> {
    let span = attr.path().span();
    let name = names::attr_name(attr).unwrap_or_default();
    match name.as_str() {
        "start" => {
            if !matches!(attr.meta, syn::Meta::Path(_)) {
                errors.spanned(&attr.meta, "#[start] takes no arguments");
            }
            Some(StateAttr::Start(span))
        }
        "retry" => parse_retry(attr, errors).map(StateAttr::Retry),
        "catch" => parse_catch(attr, errors).map(StateAttr::Catch),
        kind => {
            let name = KIND_ATTRS.iter().copied().find(|k| *k == kind)?;
            Some(StateAttr::Kind {
                name,
                span,
                spec: parse_kind(name, attr, errors),
            })
        }
    }
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
