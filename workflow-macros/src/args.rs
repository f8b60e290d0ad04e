//! The argument list of one attribute: `handler, key = value, key`.
//!
//! Every argument is parsed as an expression, which covers paths, literals,
//! negative numbers and `[lists]`; interpreting a value is left to the
//! attribute that owns the key, so it can say what it expected.

use proc_macro2::Span;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, Meta, Path, Token};

use crate::ctxt::Errors;

/// One argument.
pub(crate) enum Arg {
    /// A bare path: a handler, or a flag such as `end`.
    Bare(Path),
    /// `key = value`.
    Pair { key: Ident, value: Expr },
    /// Anything else (a literal, a call): the attribute that owns it says
    /// what it expected there.
    Other(Expr),
}

/// The arguments of an attribute; an attribute without parentheses has
/// none. `None` when the list is malformed beyond reading (reported here),
/// so the attribute does not add "missing" errors of its own.
pub(crate) fn parse(attr: &Attribute, errors: &Errors) -> Option<Vec<Arg>> {
    let tokens = match &attr.meta {
        Meta::Path(_) => return Some(Vec::new()),
        Meta::List(list) => list.tokens.clone(),
        Meta::NameValue(nv) => {
            let name = path_name(&nv.path);
            let value = &nv.value;
            let value = quote::quote!(#value).to_string();
            errors.spanned(
                nv,
                format!(
                    "an attribute of a state takes its arguments in parentheses: #[{name}({value}, ...)], not #[{name} = ...]"
                ),
            );
            return None;
        }
    };
    let parser = |input: ParseStream| Ok(arguments(input, errors));
    // `arguments` reports its own errors and never fails.
    parser.parse2(tokens).ok().flatten()
}

/// The comma-separated arguments. A missing comma or a missing `=` is
/// reported in the DSL's terms and read as if it were there, so the rest of
/// the attribute still counts.
fn arguments(input: ParseStream, errors: &Errors) -> Option<Vec<Arg>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        if input.parse::<Option<Token![,]>>().ok().flatten().is_some() {
            continue;
        }
        let expr = match input.parse::<Expr>() {
            Ok(expr) => peel_owned(expr),
            Err(e) => {
                errors.at(
                    e.span(),
                    "expected an argument: a name (the handler, or a flag such as `end`) or `key = value`",
                );
                return None;
            }
        };
        if input.is_empty() || input.peek(Token![,]) {
            out.push(classify(expr, errors)?);
            continue;
        }
        // Two expressions in a row: `next Done` (a missing `=`) or
        // `reserve next = Done` (a missing comma).
        let follows = input.span();
        let key = match &expr {
            Expr::Path(p) if p.qself.is_none() => p.path.get_ident().cloned(),
            _ => None,
        };
        let next = match input.parse::<Expr>() {
            Ok(next) => peel_owned(next),
            Err(_) => {
                errors.at(follows, "expected `,` between arguments");
                return None;
            }
        };
        match key {
            Some(key) if !matches!(next, Expr::Assign(_)) => {
                let value = quote::quote!(#next).to_string();
                let value = if value.len() <= 40 {
                    value
                } else {
                    "...".to_owned()
                };
                errors.spanned(
                    &key,
                    format!("`{key}` and its value are joined by `=`: `{key} = {value}`"),
                );
                out.push(Arg::Pair { key, value: next });
            }
            _ => {
                errors.at(follows, "separate the arguments with commas");
                out.push(classify(expr, errors)?);
                out.push(classify(next, errors)?);
            }
        }
    }
    Some(out)
}

/// One argument by its shape.
fn classify(expr: Expr, errors: &Errors) -> Option<Arg> {
    match expr {
        Expr::Path(p) if p.qself.is_none() && p.attrs.is_empty() => Some(Arg::Bare(p.path)),
        Expr::Assign(assign) => match peel_owned(*assign.left) {
            Expr::Path(ref p) if p.qself.is_none() && p.path.get_ident().is_some() => {
                Some(Arg::Pair {
                    key: p.path.get_ident().cloned()?,
                    value: peel_owned(*assign.right),
                })
            }
            ref other => {
                errors.spanned(other, "expected a key such as `next`");
                None
            }
        },
        other => Some(Arg::Other(other)),
    }
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

/// A value that must be a plain identifier (a state name). A state named in
/// quotes is reported and read without them.
pub(crate) fn as_ident(value: &Expr, errors: &Errors) -> Option<Ident> {
    match peel(value) {
        Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
            p.path.get_ident().cloned()
        }
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) if s.parse::<Ident>().is_ok() => {
            let name = s.value();
            errors.spanned(
                s,
                format!("a state is named without quotes: `{name}`, not `\"{name}\"`"),
            );
            s.parse::<Ident>().ok()
        }
        Expr::Array(array) => {
            errors.spanned(
                array,
                "this goes to one state, named without brackets, such as `next = Done`",
            );
            None
        }
        other => {
            errors.spanned(other, "expected the name of a state of this workflow");
            None
        }
    }
}

/// A value that must be a `[list]`; its elements, each as an expression.
/// One element without brackets is reported and read as a list of one.
pub(crate) fn as_list<'a>(value: &'a Expr, key: &str, errors: &Errors) -> Option<Vec<&'a Expr>> {
    match peel(value) {
        Expr::Array(array) => Some(array.elems.iter().map(peel).collect()),
        one @ Expr::Path(_) => {
            let text = quote::quote!(#one).to_string().replace(' ', "");
            errors.spanned(
                one,
                format!("`{key}` takes a list in brackets, even of one: `{key} = [{text}]`"),
            );
            Some(vec![one])
        }
        other => {
            errors.spanned(
                other,
                format!("`{key}` takes a list in brackets, such as `{key} = [A, B]`"),
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
            errors.spanned(value, format!("`{what}` must be at most {}", u32::MAX));
            None
        }
    })
}

/// A value that must be a non-negative integer. A number in quotes is
/// reported and read without them.
pub(crate) fn as_u64(value: &Expr, what: &str, errors: &Errors) -> Option<u64> {
    match peel(value) {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => match int.base10_parse::<u64>() {
            Ok(n) => Some(n),
            Err(e) => {
                errors.spanned(int, format!("`{what}` must be a whole number: {e}"));
                None
            }
        },
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let text = s.value();
            match text.trim().parse::<u64>() {
                Ok(n) => {
                    errors.spanned(
                        s,
                        format!("`{what}` is a number, written without quotes: `{what} = {n}`"),
                    );
                    Some(n)
                }
                Err(_) => {
                    let hint = if what == "seconds" {
                        format!("; for a duration with a unit, write `duration = \"{text}\"`")
                    } else {
                        String::new()
                    };
                    errors.spanned(
                        s,
                        format!("`{what}` is a whole number, written without quotes, such as `{what} = 3`{hint}"),
                    );
                    None
                }
            }
        }
        _ => {
            errors.spanned(
                value,
                format!("`{what}` must be a whole number of at least 0"),
            );
            None
        }
    }
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
    if let (
        false,
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }),
    ) = (negative, inner)
        && let Ok(n) = s.value().trim().parse::<f64>()
    {
        errors.spanned(
            s,
            format!(
                "`{what}` is a number, written without quotes: `{what} = {}`",
                s.value().trim()
            ),
        );
        return Some(n);
    }
    match parsed {
        Some(n) => Some(if negative { -n } else { n }),
        None => {
            errors.spanned(
                value,
                format!("`{what}` must be a number, such as `{what} = 2.0`"),
            );
            None
        }
    }
}

/// The span of a whole expression, for errors on a value.
pub(crate) fn span_of(value: &Expr) -> Span {
    value.span()
}
