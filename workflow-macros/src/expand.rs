//! Code generation: the `Workflow` impl (one `match` arm per state), the
//! static definition, and the module of choice enums.
//!
//! Every expression that the compiler checks against the user's types is
//! spanned on the user's own tokens (the handler, the `next = X`, the branch
//! workflow), so a type error lands there and not on the macro call. Locals
//! that such an expression mentions are re-spanned to the same tokens: a
//! call whose argument sits at the macro call would otherwise draw the error
//! there.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, Type};
use workflow_core::Definition;

use crate::ast::{KindSpec, Machine};
use crate::choices::choice_module;
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
    let branch = quote! {
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
    };
    let context_alias = context_alias(m);
    let types = Types {
        input: input_ty.clone(),
        output: output_ty.clone(),
        context: context_ty.clone(),
    };
    let impls = impls(
        m,
        &types,
        quote! {
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
        },
        branch,
    );
    quote! {
        #item
        #module
        #context_alias
        #impls
    }
}

/// The types a workflow's impls name.
pub(crate) struct Types {
    pub(crate) input: TokenStream,
    pub(crate) output: TokenStream,
    pub(crate) context: TokenStream,
}

/// `impl Workflow for W { type Input; type Output; type Context; .. }` with
/// `workflow` inside, and `impl Branch<Input, Context> for W { type Out; .. }`
/// with `branch` inside: the headers the expansion and its fallback share.
pub(crate) fn impls(
    m: &Machine,
    types: &Types,
    workflow: TokenStream,
    branch: TokenStream,
) -> TokenStream {
    let rt = runtime(m);
    let name = m.ident();
    let Types {
        input,
        output,
        context,
    } = types;
    // The Branch impl is spanned on the enum's name: a misfit's "but it is
    // implemented for" note then points at the workflow it is about.
    let branch_impl = quote_spanned! {name.span()=>
        impl #rt::typing::Branch<#input, #context> for #name {
            type Out = #output;
            #branch
        }
    };
    quote! {
        impl #rt::Workflow for #name {
            type Input = #input;
            type Output = #output;
            type Context = #context;
            #workflow
        }
        #branch_impl
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

pub(crate) fn runtime(m: &Machine) -> TokenStream {
    let krate = &m.args.krate;
    quote!(#krate::__private)
}

pub(crate) fn input_type(m: &Machine) -> TokenStream {
    match m.start().or(m.states.first()) {
        Some(s) => {
            let ty = &s.ty;
            quote!(#ty)
        }
        None => quote!(()),
    }
}

pub(crate) fn succeed_type(m: &Machine) -> Option<&Type> {
    m.states
        .iter()
        .find(|s| matches!(s.kind.as_ref().map(|k| &k.spec), Some(KindSpec::Succeed)))
        .map(|s| &s.ty)
}

pub(crate) fn output_type(m: &Machine) -> TokenStream {
    match (&m.args.output, succeed_type(m)) {
        (Some(ty), _) => quote!(#ty),
        (None, Some(ty)) => quote!(#ty),
        (None, None) => quote!(::core::convert::Infallible),
    }
}

pub(crate) fn context_type(m: &Machine) -> TokenStream {
    let alias = context_alias_ident(m);
    quote!(#alias)
}

/// The context type is named once, in an alias that the generated code
/// uses: a context type that does not resolve is then one error, not one
/// per place the code names it.
pub(crate) fn context_alias(m: &Machine) -> TokenStream {
    let alias = context_alias_ident(m);
    let ty = match &m.args.context {
        Some(ty) => quote!(#ty),
        None => quote!(()),
    };
    quote! {
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        type #alias = #ty;
    }
}

fn context_alias_ident(m: &Machine) -> Ident {
    format_ident!("__{}_Context", m.ident())
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
