//! The names of the workflow's attributes on a variant: which are ours,
//! which belong to other tools, and which look like a misspelling of ours.

use syn::{Attribute, Ident};

use crate::ctxt::Errors;

/// The attributes that give a state its kind: the one list of kind names,
/// which the parser and the typo check both read.
pub(super) const KIND_ATTRS: &[&str] = &[
    "task", "choice", "pass", "wait", "parallel", "map", "succeed", "fail",
];

/// The attributes this macro owns on a variant besides its kind.
const OTHER_STATE_ATTRS: &[&str] = &["start", "retry", "catch"];

/// Every attribute this macro owns on a variant.
fn state_attrs() -> impl Iterator<Item = &'static str> {
    OTHER_STATE_ATTRS.iter().chain(KIND_ATTRS).copied()
}

/// Attributes that other tools own and a typo check must not flag.
const FOREIGN_ATTRS: &[&str] = &[
    "doc", "cfg", "cfg_attr", "allow", "warn", "deny", "expect", "serde", "default",
];

/// The workflow's attributes of a variant, taken out of `attrs` (the enum is
/// emitted without them), and whether one of the others looked like a
/// misspelling of ours: it is reported and taken out too, and the caller
/// then does not report "no kind" on top of it.
pub(crate) fn take_ours(attrs: &mut Vec<Attribute>, errors: &Errors) -> (Vec<Attribute>, bool) {
    let ours: Vec<Attribute> = attrs.iter().filter(|a| is_ours(a)).cloned().collect();
    attrs.retain(|a| !is_ours(a));
    let had_typo = report_typos(attrs, errors);
    attrs.retain(|a| typo_of(a).is_none());
    (ours, had_typo)
}

pub(super) fn attr_name(attr: &Attribute) -> Option<String> {
    attr.path().get_ident().map(Ident::to_string)
}

fn is_ours(attr: &Attribute) -> bool {
    attr_name(attr).is_some_and(|name| state_attrs().any(|ours| ours == name))
}

fn typo_of(attr: &Attribute) -> Option<&'static str> {
    let name = attr_name(attr)?;
    if FOREIGN_ATTRS.contains(&name.as_str()) || state_attrs().any(|ours| ours == name) {
        return None;
    }
    workflow_core::closest(&name, state_attrs())
}

/// Reports attributes that look like misspellings of ours; returns whether
/// there was one.
fn report_typos(attrs: &[Attribute], errors: &Errors) -> bool {
    let mut found = false;
    for attr in attrs {
        if let Some(close) = typo_of(attr) {
            errors.spanned(
                attr.path(),
                format!(
                    "unknown workflow attribute `{}`; did you mean `{close}`?",
                    attr_name(attr).unwrap_or_default()
                ),
            );
            found = true;
        }
    }
    found
}
