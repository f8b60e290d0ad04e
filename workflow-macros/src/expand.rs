//! Code generation: the `Workflow` impl (one `match` arm per state), the
//! static definition, and the module of choice enums.
//!
//! Every expression that the compiler checks against the user's types is
//! spanned on the user's own tokens (the handler, the `next = X`, the branch
//! workflow), so a type error lands there and not on the macro call. Locals
//! that such an expression mentions are re-spanned to the same tokens: a
//! call whose argument sits at the macro call would otherwise draw the error
//! there.

use heck::ToSnakeCase;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, Type, Visibility};
use workflow_core::Definition;

use crate::ast::{KindSpec, Machine, StateAst};
use crate::tokens;

mod policies;
mod step;

use step::Gen;

/// The generated code for a workflow that passed every check.
pub(crate) fn expand(m: &Machine, def: &Definition) -> TokenStream {
    let rt = runtime(m);
    // The enum's documentation ends with its state diagram, so `cargo doc`
    // documents the machine (a `mermaid` block: not Rust, never a doctest).
    let mut item = m.item.clone();
    let diagram = format!(
        "\n\n# State machine\n\n```mermaid\n{}```\n",
        def.to_mermaid()
    );
    item.attrs.push(syn::parse_quote!(#[doc = #diagram]));
    let item = &item;
    let module = choice_module(m);
    let workflow = m.ident();
    // The Rust name, which the path the engine keys workflows by needs
    // (a definition may be named otherwise).
    let enum_name = syn::ext::IdentExt::unraw(workflow).to_string();
    let input_ty = input_type(m);
    let output_ty = output_type(m);
    let context_ty = context_type(m);
    let core = quote!(#rt::core);
    let definition = tokens::definition(def, &core);
    let start = m.start().map(|s| &s.ident);
    let indices = m.states.iter().enumerate().map(|(i, s)| {
        let ident = &s.ident;
        quote!(#workflow::#ident(_) => #i,)
    });
    let names = m.states.iter().map(|s| {
        let ident = &s.ident;
        let name = ident.to_string();
        quote!(#workflow::#ident(_) => #name,)
    });
    let generator = Gen {
        m,
        rt: &rt,
        output_ty: &output_ty,
        context_ty: &context_ty,
    };
    let arms = m.states.iter().map(|s| generator.arm(s));
    let children = child_paths(m).into_iter().map(|child| {
        quote! {
            (&#rt::typing::ChildProbe::<#child>(::core::marker::PhantomData))
                .collect_into(__found);
        }
    });
    let cx = local("__cx", Span::call_site());
    // Spanned on the enum's name: a misfit's "but it is implemented for"
    // note then points at the workflow it is about.
    let branch_impl = quote_spanned! {workflow.span()=>
        impl #rt::typing::Branch<#input_ty, #context_ty> for #workflow {
            type Out = #output_ty;
            fn accept(input: #input_ty) -> #input_ty {
                input
            }
            fn context(context: &#context_ty) -> &#context_ty {
                context
            }
            fn finish(output: #output_ty) -> #output_ty {
                output
            }
            fn codec() -> ::core::option::Option<#rt::typing::Codec<#output_ty>> {
                #[allow(unused_imports)]
                use #rt::typing::{NoCodec as _, SerdeCodec as _};
                (&#rt::typing::CodecProbe::<#output_ty>(::core::marker::PhantomData)).codec()
            }
        }
    };
    quote! {
        #item
        #module
        impl #rt::Workflow for #workflow {
            type Input = #input_ty;
            type Output = #output_ty;
            type Context = #context_ty;

            fn definition() -> &'static #core::Definition {
                static DEFINITION: #core::Definition = #definition;
                &DEFINITION
            }

            fn path() -> &'static str {
                ::core::concat!(::core::module_path!(), "::", #enum_name)
            }

            fn collect_children(
                __found: &mut ::std::vec::Vec<&'static #core::Definition>,
            ) {
                #[allow(unused_imports)]
                use #rt::typing::{CollectNothing as _, CollectWorkflow as _};
                #(#children)*
            }

            fn start(input: Self::Input) -> Self {
                #workflow::#start(input)
            }

            fn state_index(&self) -> usize {
                match self { #(#indices)* }
            }

            fn state_name(&self) -> &'static str {
                match self { #(#names)* }
            }

            #[allow(clippy::needless_return, unreachable_code)]
            fn step<'__a>(
                self,
                #cx: #rt::StepCx<'__a, Self::Context>,
            ) -> impl ::core::future::Future<Output = #rt::Step<Self>> + ::core::marker::Send + '__a {
                async move {
                    let _ = &#cx;
                    match self { #(#arms)* }
                }
            }
        }

        #branch_impl
    }
}

/// After an error: the enum, the choice module and a placeholder impl, so
/// code that uses the workflow does not add errors of its own.
pub(crate) fn fallback(m: &Machine) -> TokenStream {
    let item = &m.item;
    if !m.item.generics.params.is_empty() {
        return quote!(#item);
    }
    let rt = runtime(m);
    let module = choice_module(m);
    let workflow = m.ident();
    let input_ty = input_type(m);
    let output_ty = if m.args.output.is_none() && succeed_type(m).is_none() {
        quote!(())
    } else {
        output_type(m)
    };
    let context_ty = context_type(m);
    // Never runs: the compile errors emitted beside it stop the build.
    let stub = quote!(::core::unreachable!("#[workflow] reported an error"));
    quote! {
        #item
        #module
        impl #rt::Workflow for #workflow {
            type Input = #input_ty;
            type Output = #output_ty;
            type Context = #context_ty;
            fn definition() -> &'static #rt::core::Definition { #stub }
            fn start(_: Self::Input) -> Self { #stub }
            fn state_index(&self) -> usize { #stub }
            fn state_name(&self) -> &'static str { #stub }
            #[allow(unreachable_code)]
            fn step<'__a>(
                self,
                _: #rt::StepCx<'__a, Self::Context>,
            ) -> impl ::core::future::Future<Output = #rt::Step<Self>> + ::core::marker::Send + '__a {
                async move { #stub }
            }
        }
        impl #rt::typing::Branch<#input_ty, #context_ty> for #workflow {
            type Out = #output_ty;
            fn accept(_: #input_ty) -> #input_ty { #stub }
            fn context(_: &#context_ty) -> &#context_ty { #stub }
            fn finish(_: #output_ty) -> #output_ty { #stub }
        }
    }
}

/// The workflows the Parallel and Map states run, in state order.
fn child_paths(m: &Machine) -> Vec<&syn::Path> {
    let mut paths = Vec::new();
    for kind in m.states.iter().filter_map(|s| s.kind.as_ref()) {
        match &kind.spec {
            KindSpec::Parallel { branches, .. } => paths.extend(branches),
            KindSpec::Map { workflow, .. } => paths.push(workflow),
            _ => {}
        }
    }
    paths
}

fn runtime(m: &Machine) -> TokenStream {
    let krate = &m.args.krate;
    quote!(#krate::__private)
}

fn input_type(m: &Machine) -> TokenStream {
    match m.start().or(m.states.first()) {
        Some(s) => {
            let ty = &s.ty;
            quote!(#ty)
        }
        None => quote!(()),
    }
}

fn succeed_type(m: &Machine) -> Option<&Type> {
    m.states
        .iter()
        .find(|s| matches!(s.kind.as_ref().map(|k| &k.spec), Some(KindSpec::Succeed)))
        .map(|s| &s.ty)
}

fn output_type(m: &Machine) -> TokenStream {
    match (&m.args.output, succeed_type(m)) {
        (Some(ty), _) => quote!(#ty),
        (None, Some(ty)) => quote!(#ty),
        (None, None) => quote!(::core::convert::Infallible),
    }
}

fn context_type(m: &Machine) -> TokenStream {
    match &m.args.context {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    }
}

/// The module's name: `#[workflow(module = ...)]` or the enum's in
/// snake_case (raw if it is a keyword, such as `r#loop`). Names that cannot
/// be a module at all are refused by the checks before this runs.
pub(crate) fn module_ident(m: &Machine) -> Ident {
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

/// `mod checkout { pub enum Route { Pack(Payment), Hold(Payment) } ... }`:
/// one enum per choice state, holding only its targets.
fn choice_module(m: &Machine) -> TokenStream {
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
    let module = module_ident(m);
    // Each target's data type, named at the workflow's own scope, where the
    // user wrote it: inside the module a type could be shadowed by a choice
    // enum of the same name, and relative paths would mean something else.
    let alias = |target: &Ident| format_ident!("__{}_data_{}", workflow, target);
    let mut aliased: Vec<&Ident> = Vec::new();
    for (_, targets) in &choices {
        for target in targets.iter() {
            if !aliased.contains(&target) && m.state(target).is_some() {
                aliased.push(target);
            }
        }
    }
    let aliases = aliased.iter().filter_map(|target| {
        let ty = &m.state(target)?.ty;
        let name = alias(target);
        Some(quote! {
            #[doc(hidden)]
            #[allow(non_camel_case_types)]
            #vis type #name = #ty;
        })
    });
    let enums = choices.iter().map(|(state, targets)| {
        let name = &state.ident;
        // Targets that name no state are reported already; leaving them out
        // keeps the module compiling.
        let mut known: Vec<&Ident> = Vec::new();
        for target in targets.iter() {
            if !known.contains(&target) && m.state(target).is_some() {
                known.push(target);
            }
        }
        let variants = known.iter().map(|t| {
            let data = alias(t);
            quote!(#t(super::#data))
        });
        let conversions = known
            .iter()
            .map(|t| quote!(#name::#t(data) => super::#workflow::#t(data),));
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
        let inner_vis = respan(&inner_vis, name.span());
        let declaration = quote_spanned! {name.span()=>
            #[doc = #doc]
            #inner_vis enum #name { #(#[allow(missing_docs)] #variants),* }
        };
        quote! {
            #declaration

            impl ::core::convert::From<#name> for super::#workflow {
                fn from(choice: #name) -> Self {
                    match choice { #(#conversions)* }
                }
            }
        }
    });
    let doc = format!("The choice enums of the workflow [`{workflow}`](super::{workflow}).");
    quote! {
        #(#aliases)*

        #[doc = #doc]
        #vis mod #module {
            #(#enums)*
        }
    }
}

/// The same tokens, every one spanned on `span`: a path into the runtime
/// written inside a check then points at the user's token, not at the call.
fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(&group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// A local variable of generated code, spanned on `span` so that expressions
/// that mention it are reported at `span`.
fn local(name: &str, span: Span) -> Ident {
    // The user's own span, not `call_site().located_at(span)`: with the
    // latter rustc reports a handler's misfit twice (the call and its
    // await). The price: a handler token passed in from another
    // `macro_rules!` caller resolves these locals in that caller's context.
    Ident::new(name, span)
}
