//! The arguments of one attribute sorted by role (the positional one, flags,
//! `key = value` pairs), with unknown and repeated keys reported.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Ident, Path};

use crate::args::{self, Arg};
use crate::ctxt::Errors;

/// The arguments of one attribute, sorted by role, with unknown and repeated
/// keys reported.
pub(super) struct Collected {
    pub(super) positional: Option<Path>,
    pub(super) flags: Vec<(String, Span)>,
    pub(super) pairs: Vec<(Ident, Expr)>,
}

impl Collected {
    pub(super) fn get(&self, key: &str) -> Option<&Expr> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(super) fn key(&self, key: &str) -> Option<&Ident> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(k, _)| k)
    }

    pub(super) fn flag(&self, flag: &str) -> Option<Span> {
        self.flags.iter().find(|(f, _)| f == flag).map(|(_, s)| *s)
    }
}

/// What an attribute accepts.
pub(super) struct Shape<'a> {
    pub(super) attr: &'a str,
    /// The name of the positional argument, if there is one.
    pub(super) positional: Option<&'a str>,
    pub(super) keys: &'a [&'a str],
    pub(super) flags: &'a [&'a str],
    /// The keys whose value is a `[list]`: names written after such a key
    /// without brackets (`next = A, B`) are read as its list.
    pub(super) lists: &'a [&'a str],
}

/// Keys people write for the positional argument.
const POSITIONAL_KEYS: &[&str] = &["handler", "function", "workflow"];

/// Sorts the arguments of `attr` by role. A slip whose meaning is clear (the
/// handler after the keys or under a key, a misspelt key, a list without
/// brackets) is reported and read as meant, so it gives no second error.
/// `None` when the arguments could not be read at all (reported already).
pub(super) fn collect(attr: &Attribute, shape: &Shape<'_>, errors: &Errors) -> Option<Collected> {
    let mut c = Collected {
        positional: None,
        flags: Vec::new(),
        pairs: Vec::new(),
    };
    let mut known: Vec<&str> = shape.keys.to_vec();
    known.extend_from_slice(shape.flags);
    // The list key just read without brackets, and the names that follow it.
    let mut gathering: Option<(usize, Vec<Path>)> = None;
    let mut gathered: Vec<(usize, Vec<Path>)> = Vec::new();
    for (i, arg) in args::parse(attr, errors)?.into_iter().enumerate() {
        let stray = match arg {
            Arg::Bare(path) => bare(
                &mut c,
                shape,
                &known,
                (i, gathering.is_some()),
                path,
                errors,
            ),
            Arg::Pair { key, value } => {
                pair(&mut c, shape, &known, key, value, errors);
                None
            }
            Arg::Other(expr) => {
                other(&mut c, shape, i, expr, errors);
                None
            }
        };
        match (stray, &mut gathering) {
            (Some(path), Some((_, names))) => names.push(path),
            (Some(path), None) => report_stray(shape, &known, &path, errors),
            (None, _) => {
                gathered.extend(gathering.take().filter(|(_, names)| !names.is_empty()));
                let last = c.pairs.len().checked_sub(1);
                if let Some(last) = last.filter(|&l| {
                    let (key, value) = &c.pairs[l];
                    shape.lists.contains(&key.to_string().as_str())
                        && !matches!(value, Expr::Array(_))
                        && !gathered.iter().any(|(g, _)| *g == l)
                }) {
                    gathering = Some((last, Vec::new()));
                }
            }
        }
    }
    gathered.extend(gathering.take().filter(|(_, names)| !names.is_empty()));
    // Each index was a pair's when it was recorded, and pairs are only
    // ever added: the indexing below cannot fail, nor can `all` be empty.
    for (index, names) in gathered {
        let (key, value) = &mut c.pairs[index];
        let mut all = vec![value.clone()];
        all.extend(names.into_iter().map(|path| {
            Expr::Path(syn::ExprPath {
                attrs: Vec::new(),
                qself: None,
                path,
            })
        }));
        let text = all
            .iter()
            .map(|e| quote::quote!(#e).to_string().replace(' ', ""))
            .collect::<Vec<_>>()
            .join(", ");
        let (first, last) = (&all[0], &all[all.len() - 1]);
        errors.spanned(
            quote::quote!(#first #last),
            format!("`{key}` takes a list in brackets: `{key} = [{text}]`"),
        );
        *value = Expr::Array(syn::ExprArray {
            attrs: Vec::new(),
            bracket_token: Default::default(),
            elems: all.into_iter().collect(),
        });
    }
    Some(c)
}

/// A bare name: a flag, the positional argument, or a stray (returned).
fn bare(
    c: &mut Collected,
    shape: &Shape<'_>,
    known: &[&str],
    (i, gathering): (usize, bool),
    path: Path,
    errors: &Errors,
) -> Option<Path> {
    let name = path.get_ident().map(|i| i.unraw().to_string());
    // Where the positional argument is still expected, a name is taken for
    // it, however close to a flag it is (a handler may be called `send`).
    let positional_slot = shape.positional.is_some() && (i == 0 || c.positional.is_none());
    let flag = name.as_deref().and_then(|n| {
        if shape.flags.contains(&n) {
            return Some(n.to_owned());
        }
        if positional_slot {
            return None;
        }
        // A misspelt flag (`edn`) is reported and read as the flag.
        let close = workflow_core::closest(n, shape.flags.iter().copied())?;
        let ident = path.get_ident()?;
        errors.spanned(
            ident,
            format!(
                "unknown flag `{n}` (did you mean `{close}`?); #[{}] knows {}",
                shape.attr,
                list(known)
            ),
        );
        Some(close.to_owned())
    });
    if let Some(flag) = flag {
        if c.flag(&flag).is_some() {
            errors.spanned(&path, format!("`{flag}` is given twice"));
        }
        c.flags.push((flag, path.span()));
        return None;
    }
    match shape.positional {
        Some(_) if i == 0 => c.positional = Some(path),
        Some(what) if c.positional.is_none() && !gathering => {
            let text = path_text(&path);
            errors.spanned(
                &path,
                format!(
                    "the {what} goes first, before the `key = value` arguments: #[{}({text}, ...)]",
                    shape.attr
                ),
            );
            c.positional = Some(path);
        }
        _ => return Some(path),
    }
    None
}

/// A name that has no place in this attribute.
fn report_stray(shape: &Shape<'_>, known: &[&str], path: &Path, errors: &Errors) {
    if let Some(ident) = path.get_ident()
        && workflow_core::closest(&ident.to_string(), known.iter().copied()).is_some()
    {
        unknown_key(ident, shape.attr, known, errors);
        return;
    }
    let text = path_text(path);
    let what = match shape.positional {
        Some(p) => {
            format!("unexpected `{text}`: only the {p} goes without a key, and it goes first")
        }
        None => format!(
            "unexpected `{text}`: #[{}] takes only `key = value` arguments ({})",
            shape.attr,
            list(known)
        ),
    };
    errors.spanned(path, what);
}

/// `key = value`: a known key, a misspelt one (read as meant), or the
/// positional argument written under a key.
fn pair(
    c: &mut Collected,
    shape: &Shape<'_>,
    known: &[&str],
    key: Ident,
    value: Expr,
    errors: &Errors,
) {
    let name = key.unraw().to_string();
    if let Some(what) = shape.positional
        && POSITIONAL_KEYS.contains(&name.as_str())
        && !shape.keys.contains(&name.as_str())
        && c.positional.is_none()
        && let Expr::Path(path) = &value
    {
        let text = path_text(&path.path);
        errors.spanned(
            &key,
            format!(
                "the {what} is written without a key, first: #[{}({text}, ...)]",
                shape.attr
            ),
        );
        c.positional = Some(path.path.clone());
        return;
    }
    let meant = if shape.keys.contains(&name.as_str()) {
        name.clone()
    } else {
        unknown_key(&key, shape.attr, known, errors);
        match workflow_core::closest(&name, shape.keys.iter().copied()) {
            Some(close) => close.to_owned(),
            None => return,
        }
    };
    if c.key(&meant).is_some() {
        if meant == name {
            errors.spanned(&key, format!("`{name}` is given twice"));
        }
        return;
    }
    c.pairs.push((Ident::new(&meant, key.span()), value));
}

/// An argument that is neither a name nor `key = value`: the positional
/// argument in quotes is reported and read without them.
fn other(c: &mut Collected, shape: &Shape<'_>, i: usize, expr: Expr, errors: &Errors) {
    if let (Some(what), 0) = (shape.positional, i)
        && let Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) = &expr
        && let Ok(path) = s.parse::<Path>()
    {
        let text = path_text(&path);
        errors.spanned(
            s,
            format!(
                "the {what} is named without quotes: #[{}({text}, ...)]",
                shape.attr
            ),
        );
        c.positional = Some(path);
        return;
    }
    let hint = match shape.positional {
        Some(p) => format!("the {p} by name, a flag, or `key = value`"),
        None => "`key = value`".to_owned(),
    };
    errors.spanned(&expr, format!("expected {hint} here"));
}

fn path_text(path: &Path) -> String {
    quote::quote!(#path).to_string().replace(' ', "")
}

pub(super) fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn unknown_key(key: &Ident, attr: &str, known: &[&str], errors: &Errors) {
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
