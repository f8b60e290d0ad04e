//! The `#[workflow]` attribute macro.
//!
//! It turns an annotated enum (one variant per state) and plain functions
//! into a type-checked state machine. The pipeline: read each attribute
//! into a plain value (`attr/`) and build the syn-level model from the enum
//! and those values (`build.rs`, `ast.rs`), lower it to
//! `workflow_core`'s definition (`lower.rs`), check both the macro's own rules
//! and the core graph rules with errors on the user's tokens (`check.rs`),
//! then generate the `Workflow` impl (`expand.rs`). Errors are collected, not
//! returned early, and a fallback expansion follows them, so one mistake
//! gives one message.

mod args;
mod ast;
mod attr;
mod build;
mod check;
mod choices;
mod ctxt;
mod expand;
mod fallback;
mod lower;
mod tokens;

use proc_macro::TokenStream;

/// Turns an annotated enum into a workflow. See the `workflow` crate's docs
/// for the syntax.
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, input: TokenStream) -> TokenStream {
    workflow_impl(args.into(), input.into()).into()
}

fn workflow_impl(
    args: proc_macro2::TokenStream,
    input: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let errors = ctxt::Errors::new();
    let item = match syn::parse2::<syn::Item>(input.clone()) {
        Ok(syn::Item::Enum(item)) => item,
        Ok(other) => {
            errors.spanned(
                item_keyword(&other),
                "#[workflow] goes on an enum whose variants are the states, such as `enum Order { #[start] #[task(f, end)] Begin(Input) }`",
            );
            let mut out = errors.into_compile_errors();
            out.extend(input);
            return out;
        }
        Err(e) => {
            let mut out = e.to_compile_error();
            out.extend(input);
            return out;
        }
    };
    let args = attr::parse_machine_args(args, &errors);
    let machine = build::machine(args, item, &errors);
    let definition = lower::definition(&machine);
    check::check(&machine, &definition, &errors);
    if errors.is_empty() {
        expand::expand(&machine, &definition)
    } else {
        fallback::fallback(&machine, errors.into_vec())
    }
}

/// The tokens that name what kind of item this is, for a short error span.
fn item_keyword(item: &syn::Item) -> proc_macro2::TokenStream {
    use quote::ToTokens;
    match item {
        syn::Item::Struct(s) => s.struct_token.to_token_stream(),
        syn::Item::Fn(f) => f.sig.fn_token.to_token_stream(),
        syn::Item::Union(u) => u.union_token.to_token_stream(),
        syn::Item::Trait(t) => t.trait_token.to_token_stream(),
        syn::Item::Mod(m) => m.mod_token.to_token_stream(),
        syn::Item::Impl(i) => i.impl_token.to_token_stream(),
        other => other.to_token_stream(),
    }
}

#[cfg(test)]
#[path = "tests/never_panics.rs"]
mod never_panics;
