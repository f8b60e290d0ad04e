//! The expansion after an error: the enum, its choice module and a
//! placeholder `Workflow` impl, so that the program around the workflow
//! compiles as if the workflow were right and the one mistake gives one
//! message.
//!
//! The impl keeps every type the workflow declares and the parser could
//! still read (the start state's data, the succeed state's, the context).
//! A type it could not read at all (no states, a context that is not a
//! type) becomes rustc's error type: an array whose length is the first
//! error's `compile_error!`. That error is then reported there, once, and
//! any use of the type unifies with anything, so code that runs the
//! workflow adds no errors of its own.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::ast::Machine;
use crate::choices::choice_module;
use crate::expand::{
    Types, context_alias, context_type, impls, input_type, output_type, runtime, succeed_type,
};

/// The fallback expansion followed by the errors.
pub(crate) fn fallback(m: &Machine, errors: Vec<syn::Error>) -> TokenStream {
    let item = &m.item;
    let mut errors = errors.into_iter();
    if !m.item.generics.params.is_empty() {
        let errors = errors.map(|e| e.to_compile_error());
        return quote!(#item #(#errors)*);
    }
    let unknown = format_ident!("__{}_unreadable", m.ident());
    let mut needs_unknown = false;
    let mut or_unknown = |ty: Option<TokenStream>| {
        ty.unwrap_or_else(|| {
            needs_unknown = true;
            quote!(#unknown)
        })
    };
    let input_ty = or_unknown((!m.states.is_empty()).then(|| input_type(m)));
    let output_ty =
        or_unknown((m.args.output.is_some() || succeed_type(m).is_some()).then(|| output_type(m)));
    let context_ty = or_unknown((!m.args.context_unread).then(|| context_type(m)));
    let context_alias = if m.args.context_unread {
        TokenStream::new()
    } else {
        context_alias(m)
    };
    let alias = match (needs_unknown, errors.next()) {
        (true, Some(first)) => {
            let error = first.to_compile_error();
            quote! {
                #[doc(hidden)]
                #[allow(non_camel_case_types)]
                type #unknown = [u8; #error];
            }
        }
        (false, Some(first)) => first.to_compile_error(),
        // Never: the fallback follows an error. Without one there is
        // nothing to carry, and `()` is as good as any type.
        (_, None) => quote!(#[allow(non_camel_case_types)] type #unknown = ();),
    };
    let rest = errors.map(|e| e.to_compile_error());
    let rt = runtime(m);
    let module = choice_module(m);
    // Never runs: the compile errors emitted beside it stop the build.
    let stub = quote!(::core::unreachable!("#[workflow] reported an error"));
    let workflow_body = quote! {
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
    };
    let branch_body = quote! {
        fn accept(_: #input_ty) -> #input_ty { #stub }
        fn context(_: &#context_ty) -> &#context_ty { #stub }
        fn finish(_: #output_ty) -> #output_ty { #stub }
    };
    let types = Types {
        input: input_ty,
        output: output_ty,
        context: context_ty,
    };
    let impls = impls(m, &types, workflow_body, branch_body);
    quote! {
        #item
        #module
        #context_alias
        #alias
        #(#rest)*
        #impls
    }
}
