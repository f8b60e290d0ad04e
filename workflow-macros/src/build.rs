//! The AST from the enum and the values of its attributes: the enum-wide
//! rules, each variant's data type, and how a variant's attributes make one
//! state (one kind, at most one `#[start]`). The attributes themselves are
//! read by `attr/`, which knows nothing of what is built from them.

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Attribute, Fields, Ident, ItemEnum, Type};

use crate::ast::{KindAst, Machine, StateAst};
use crate::attr::{self, MachineArgs, StateAttr};
use crate::ctxt::Errors;

/// The workflow: `item` with the workflow's attributes taken out of it, and
/// a state for each variant.
pub(crate) fn machine(args: MachineArgs, mut item: ItemEnum, errors: &Errors) -> Machine {
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        errors.spanned(
            &item.generics,
            "a workflow enum cannot be generic: its states' data types must be concrete",
        );
    }
    if item.variants.is_empty() {
        errors.spanned(
            &item.ident,
            "a workflow needs at least one state: add variants such as `#[start] #[task(f, end)] Begin(Input)`",
        );
    }
    let mut states = Vec::new();
    for variant in item.variants.iter_mut() {
        let (ours, had_typo) = attr::take_ours(&mut variant.attrs, errors);
        let ty = without_self(
            &data_type(&variant.ident, &variant.fields, errors),
            &item.ident,
        );
        states.push(state(variant.ident.clone(), ty, &ours, had_typo, errors));
    }
    Machine { item, args, states }
}

/// One state from the workflow's attributes of its variant. Each attribute
/// is read just before it is added, so the errors keep the attributes'
/// order.
fn state(ident: Ident, ty: Type, attrs: &[Attribute], had_typo: bool, errors: &Errors) -> StateAst {
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
    for value in attrs
        .iter()
        .filter_map(|a| attr::parse_state_attr(a, errors))
    {
        match value {
            StateAttr::Start(span) => {
                if state.start.is_some() {
                    errors.at(span, "#[start] is given twice on this state");
                }
                state.start = Some(span);
            }
            StateAttr::Retry(retry) => state.retry.push(retry),
            StateAttr::Catch(catch) => state.catch.push(catch),
            StateAttr::Kind { name, span, spec } => {
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
                    kind_named = Some(name);
                    state.kind = spec.map(|spec| KindAst { span, spec });
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

/// The data type of a state: its one unnamed field. Any other shape is
/// reported with the type it most likely means (several fields as a tuple,
/// none as `()`), and that type is kept, so the fallback expansion and the
/// program that uses the workflow read the one the message suggests.
fn data_type(state: &Ident, fields: &Fields, errors: &Errors) -> Type {
    let types: Vec<&Type> = fields.iter().map(|f| &f.ty).collect();
    let meant: Type = match types.as_slice() {
        [one] => (*one).clone(),
        many => syn::parse_quote!((#(#many),*)),
    };
    let text = crate::lower::type_text(&meant);
    match fields {
        Fields::Unnamed(_) if types.len() == 1 => {}
        Fields::Unit => errors.spanned(
            state,
            format!("a state holds the data it receives: write `{state}(T)` (use `()` for no data)"),
        ),
        Fields::Unnamed(_) => errors.spanned(
            fields,
            format!("a state holds exactly one value: write `{state}({text})`, with a tuple or a struct for several"),
        ),
        Fields::Named(_) => errors.spanned(
            fields,
            format!("a state holds one value, without field names: write `{state}({text})`"),
        ),
    }
    meant
}

/// The type with `Self` replaced by the workflow's name: in the enum `Self`
/// is the enum, but generated code names the type outside it too (an
/// impl's header, the choice module), where `Self` means something else or
/// nothing.
fn without_self(ty: &Type, workflow: &Ident) -> Type {
    fn replace(tokens: TokenStream, workflow: &Ident) -> TokenStream {
        tokens
            .into_iter()
            .map(|tree| match tree {
                TokenTree::Ident(ident) if ident == "Self" => {
                    let mut named = workflow.clone();
                    named.set_span(ident.span());
                    TokenTree::Ident(named)
                }
                TokenTree::Group(group) => {
                    let mut inner =
                        Group::new(group.delimiter(), replace(group.stream(), workflow));
                    inner.set_span(group.span());
                    TokenTree::Group(inner)
                }
                other => other,
            })
            .collect()
    }
    // The replacement is a plain identifier where `Self` was, so the type
    // still parses; should it not, the type as written is kept.
    syn::parse2(replace(ty.to_token_stream(), workflow)).unwrap_or_else(|_| ty.clone())
}
