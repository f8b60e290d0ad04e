//! The argument list of one attribute: `handler, key = value, key`.
//!
//! Every argument is parsed as an expression, which covers paths, literals,
//! negative numbers and `[lists]`; interpreting a value is left to the
//! attribute that owns the key, so it can say what it expected.

use proc_macro2::Span;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Lit, Meta, Path, Token};

use crate::ctxt::Errors;

/// One argument.
pub(crate) enum Arg {
    /// A bare path: a handler, or a flag such as `end`.
    Bare(Path),
    /// `key = value`.
    Pair { key: Ident, value: Expr },
}

/// The arguments of an attribute; an attribute without parentheses has none.
pub(crate) fn parse(attr: &Attribute, errors: &Errors) -> Vec<Arg> {
    let tokens = match &attr.meta {
        Meta::Path(_) => return Vec::new(),
        Meta::List(list) => list.tokens.clone(),
        Meta::NameValue(nv) => {
            errors.spanned(
                nv,
                format!(
                    "write #[{}(...)], with parentheses, not `=`",
                    path_name(&nv.path)
                ),
            );
            return Vec::new();
        }
    };
    let exprs = match Punctuated::<Expr, Token![,]>::parse_terminated.parse2(tokens) {
        Ok(exprs) => exprs,
        Err(e) => {
            errors.push(e);
            return Vec::new();
        }
    };
    exprs
        .into_iter()
        .map(peel_owned)
        .filter_map(|expr| match expr {
            Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => Some(Arg::Bare(p.path)),
            Expr::Assign(assign) => match peel_owned(*assign.left) {
                Expr::Path(ref p) if p.path.get_ident().is_some() => Some(Arg::Pair {
                    key: p.path.get_ident().cloned()?,
                    value: peel_owned(*assign.right),
                }),
                ref other => {
                    errors.spanned(other, "expected a key such as `next`");
                    None
                }
            },
            other => {
                errors.spanned(
                    &other,
                    "expected `key = value` or a bare name (a handler path or a flag)",
                );
                None
            }
        })
        .collect()
}

/// An expression without the invisible groups `macro_rules!` wraps its
/// fragments in (`$f:path` arrives as a group holding the path).
fn peel_owned(expr: Expr) -> Expr {
    match expr {
        Expr::Group(group) => peel_owned(*group.expr),
        other => other,
    }
}

/// The same, by reference.
fn peel(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(group) => peel(&group.expr),
        other => other,
    }
}

/// The last segment of a path, for messages.
pub(crate) fn path_name(path: &Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

/// A value that must be a path (a handler, a state, a workflow).
pub(crate) fn as_path(value: &Expr, what: &str, errors: &Errors) -> Option<Path> {
    match peel(value) {
        Expr::Path(p) if p.qself.is_none() => Some(p.path.clone()),
        other => {
            errors.spanned(other, format!("expected {what}"));
            None
        }
    }
}

/// A value that must be a plain identifier (a state name).
pub(crate) fn as_ident(value: &Expr, errors: &Errors) -> Option<Ident> {
    match peel(value) {
        Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
            p.path.get_ident().cloned()
        }
        other => {
            errors.spanned(other, "expected the name of a state of this workflow");
            None
        }
    }
}

/// A value that must be a `[list]`; its elements, each as an expression.
pub(crate) fn as_list<'a>(
    value: &'a Expr,
    example: &str,
    errors: &Errors,
) -> Option<Vec<&'a Expr>> {
    match peel(value) {
        Expr::Array(array) => Some(array.elems.iter().map(peel).collect()),
        other => {
            errors.spanned(
                other,
                format!("expected a list in brackets, such as `{example}`"),
            );
            None
        }
    }
}

/// A value that must be a string literal.
pub(crate) fn as_str(value: &Expr, example: &str, errors: &Errors) -> Option<(String, Span)> {
    match peel(value) {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Str(s) => Some((s.value(), s.span())),
            other => {
                errors.spanned(other, format!("expected a string, such as `{example}`"));
                None
            }
        },
        other => {
            errors.spanned(other, format!("expected a string, such as `{example}`"));
            None
        }
    }
}

/// A value that must be a non-negative integer that fits `u32`.
pub(crate) fn as_u32(value: &Expr, what: &str, errors: &Errors) -> Option<u32> {
    as_u64(value, what, errors).and_then(|n| match u32::try_from(n) {
        Ok(n) => Some(n),
        Err(_) => {
            errors.spanned(value, format!("{what} must be at most {}", u32::MAX));
            None
        }
    })
}

/// A value that must be a non-negative integer.
pub(crate) fn as_u64(value: &Expr, what: &str, errors: &Errors) -> Option<u64> {
    if let Expr::Lit(lit) = peel(value)
        && let Lit::Int(int) = &lit.lit
    {
        return match int.base10_parse::<u64>() {
            Ok(n) => Some(n),
            Err(e) => {
                errors.spanned(int, format!("{what} must be a whole number: {e}"));
                None
            }
        };
    }
    errors.spanned(
        value,
        format!("{what} must be a whole number of at least 0"),
    );
    None
}

/// A value that must be a number, possibly negative (checked later, with a
/// better message than a parse error).
pub(crate) fn as_f64(value: &Expr, what: &str, errors: &Errors) -> Option<f64> {
    let (negative, inner) = match peel(value) {
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => (true, &*u.expr),
        other => (false, other),
    };
    let parsed = match inner {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Float(f) => f.base10_parse::<f64>().ok(),
            Lit::Int(i) => i.base10_parse::<f64>().ok(),
            _ => None,
        },
        _ => None,
    };
    match parsed {
        Some(n) => Some(if negative { -n } else { n }),
        None => {
            errors.spanned(value, format!("{what} must be a number, such as `2.0`"));
            None
        }
    }
}

/// The span of a whole expression, for errors on a value.
pub(crate) fn span_of(value: &Expr) -> Span {
    value.span()
}
