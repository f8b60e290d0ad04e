//! The choice module: one enum per choice state, holding only its targets,
//! so a choice function that returns a state it does not list does not
//! compile.

use heck::ToSnakeCase;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{Ident, Visibility};

use crate::ast::{KindSpec, Machine, StateAst};
use crate::tokens::respan;

/// The module's name: `#[workflow(module = ...)]` or the enum's in
/// snake_case (raw if it is a keyword, such as `r#loop`). Names that cannot
/// be a module at all are refused by the checks before this runs.
fn module_ident(m: &Machine) -> Ident {
    m.args.module.clone().unwrap_or_else(|| {
        let name = m.ident().to_string().to_snake_case();
        let span = m.ident().span();
        match syn::parse_str::<Ident>(&name) {
            Ok(_) => Ident::new(&name, span),
            Err(_) if !UNRAWABLE.contains(&name.as_str()) => Ident::new_raw(&name, span),
            Err(_) => Ident::new(&format!("{name}_"), span),
        }
    })
}

/// Keywords that cannot be raw identifiers.
pub(crate) const UNRAWABLE: &[&str] = &["self", "super", "crate", "_"];

/// `mod checkout { pub enum Route { Pack(..), Hold(..) } }`: one enum per
/// choice state, holding only its targets.
///
/// The module names nothing outside itself: each target's data type is a
/// projection, `<__Data as __Pick<N>>::Out`, whose impl sits beside the
/// workflow and names the type there, where the user wrote it. So relative
/// paths mean what they meant, a choice enum may share its name with a data
/// type, and the module works where `super::` could not reach the workflow
/// (a workflow declared in a function body).
///
/// The module is declared under a name of its own (`__checkout_choices`)
/// and reaches the user's name through a glob import, which any item of the
/// user's named alike shadows instead of clashing with. Generated code uses
/// the module's own name, so it compiles either way, and a probe reports
/// the shadowing once, naming `module = ...`.
pub(crate) fn choice_module(m: &Machine) -> TokenStream {
    let workflow = m.ident();
    let choices: Vec<(&StateAst, &Vec<Ident>)> = m
        .states
        .iter()
        .filter_map(|s| match s.kind.as_ref().map(|k| &k.spec) {
            Some(KindSpec::Choice { targets, .. }) => Some((s, targets)),
            _ => None,
        })
        .collect();
    if choices.is_empty() {
        return TokenStream::new();
    }
    let vis = m.vis();
    let inner_vis = match vis {
        Visibility::Inherited => quote!(pub(super)),
        Visibility::Public(_) => quote!(pub),
        Visibility::Restricted(_) => quote!(pub(crate)),
    };
    let module = choice_module_ident(m);
    let name = module_ident(m);
    // Targets that name no state are reported already; leaving them out
    // keeps the module compiling.
    let mut picked: Vec<&Ident> = Vec::new();
    for (_, targets) in &choices {
        for target in targets.iter() {
            if !picked.contains(&target) && m.state(target).is_some() {
                picked.push(target);
            }
        }
    }
    // Every target of an enum below is in `picked`: the fallback is never
    // taken.
    let pick = |target: &Ident| picked.iter().position(|t| *t == target).unwrap_or(0);
    let picks = picked.iter().enumerate().filter_map(|(i, target)| {
        let ty = &m.state(target)?.ty;
        Some(quote! {
            impl #module::__Pick<#i> for #module::__Data {
                type Out = #ty;
            }
        })
    });
    let mut conversions = Vec::new();
    let enums = choices.iter().map(|(state, targets)| {
        let name = &state.ident;
        let mut known: Vec<&Ident> = Vec::new();
        for target in targets.iter() {
            if !known.contains(&target) && m.state(target).is_some() {
                known.push(target);
            }
        }
        let variants = known.iter().map(|t| {
            let i = pick(t);
            quote!(#t(<__Data as __Pick<#i>>::Out))
        });
        let arms = known
            .iter()
            .map(|t| quote!(#module::#name::#t(data) => #workflow::#t(data),));
        conversions.push(quote! {
            impl ::core::convert::From<#module::#name> for #workflow {
                fn from(choice: #module::#name) -> Self {
                    match choice { #(#arms)* }
                }
            }
        });
        let list = targets
            .iter()
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let doc = format!(
            "Where the choice state `{name}` of [`{workflow}`](super::{workflow}) may go: {list}, and nowhere else."
        );
        // Spanned on the state's name, so "no variant `X` in this enum"
        // points at the choice state, not at the macro call.
        let vis = respan(&inner_vis, name.span());
        quote_spanned! {name.span()=>
            #[doc = #doc]
            #vis enum #name { #(#[allow(missing_docs)] #variants),* }
        }
    });
    let enums: Vec<TokenStream> = enums.collect();
    let doc = format!("The choice enums of the workflow [`{workflow}`](super::{workflow}).");
    let reexport_vis = seen_from_grandchild(vis);
    let shown = name.unraw().to_string();
    let message = format!(
        "the choice enums of `{workflow}` go in a module named `{shown}`, but this scope has a `{shown}` of its own, \
         which hides it; give the workflow's module another name: #[workflow(module = {shown}_states)]"
    );
    let label = format!("`{shown}` is not the module of `{workflow}`'s choice enums here");
    let check = quote_spanned!(workflow.span()=> <__Probe as ChoiceModule>::FOUND);
    quote! {
        #[doc = #doc]
        #[doc(hidden)]
        #[allow(non_snake_case)]
        #vis mod #module {
            #(#enums)*

            #[doc(hidden)]
            pub mod __name {
                #[doc(inline)]
                #reexport_vis use super::{self as #name};
            }

            /// Found through the glob import only when that brings this module.
            #[doc(hidden)]
            #inner_vis struct __Probe;

            /// The data types of the choice targets, by target.
            #[doc(hidden)]
            #inner_vis trait __Pick<const N: usize> {
                /// The data type of target `N`.
                type Out;
            }

            /// The type whose `__Pick` impls name the targets' data types.
            #[doc(hidden)]
            #inner_vis struct __Data;
        }

        #[allow(unused_imports)]
        #vis use #module::__name::*;

        #(#picks)*
        #(#conversions)*

        // A glob import inside the block shadows the block's own `__Probe`
        // only if `#name` is the workflow's module.
        const _: () = {
            #[diagnostic::on_unimplemented(message = #message, label = #label)]
            trait ChoiceModule {
                const FOUND: () = ();
            }
            #[diagnostic::do_not_recommend]
            impl ChoiceModule for #module::__Probe {}
            struct __Probe;
            #[allow(dead_code)]
            fn __probe() {
                #[allow(unused_imports)]
                use #name::*;
                #check
            }
        };
    }
}

/// The name the choice module is declared under.
pub(crate) fn choice_module_ident(m: &Machine) -> Ident {
    let name = module_ident(m);
    Ident::new(&format!("__{}_choices", name.unraw()), name.span())
}

/// A visibility as written in a module two levels below the item that has
/// it, so that a re-export there reaches exactly as far.
fn seen_from_grandchild(vis: &Visibility) -> TokenStream {
    match vis {
        Visibility::Public(_) => quote!(pub),
        Visibility::Inherited => quote!(pub(in super::super)),
        Visibility::Restricted(r) => {
            let path = &r.path;
            match path
                .segments
                .first()
                .map(|s| s.ident.to_string())
                .as_deref()
            {
                Some("crate") => quote!(#vis),
                Some("self") => {
                    let rest = path.segments.iter().skip(1);
                    quote!(pub(in super::super #(::#rest)*))
                }
                _ => quote!(pub(in super::super::#path)),
            }
        }
    }
}
