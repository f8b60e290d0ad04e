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
}

pub(super) fn collect(attr: &Attribute, shape: &Shape<'_>, errors: &Errors) -> Collected {
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
