//! `#[workflow(...)]`: the arguments of the whole workflow.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, Ident, Path, Token, Type};

use super::collect::unknown_key;
use super::duration;
use crate::ast::MachineArgs;
use crate::ctxt::Errors;

/// The keys of `#[workflow(...)]`.
const MACHINE_KEYS: &[&str] = &["context", "output", "timeout", "crate", "module"];

/// Parses `#[workflow(context = C, output = T, timeout = "1h", crate = path, module = name)]`.
pub(crate) fn parse_machine_args(tokens: TokenStream, errors: &Errors) -> MachineArgs {
    let mut parsed = MachineArgs {
        context: None,
        context_unread: false,
        output: None,
        timeout: None,
        krate: syn::parse_quote!(::workflow),
        module: None,
    };
    let mut seen: Vec<String> = Vec::new();
    let parser = |input: ParseStream| {
        while !input.is_empty() {
            let key = Ident::parse_any(input)?;
            let name = key.to_string();
            input.parse::<Token![=]>()?;
            if seen.contains(&name) {
                errors.spanned(&key, format!("`{name}` is given twice"));
            }
            seen.push(name.clone());
            match name.as_str() {
                "context" => parsed.context = Some(input.parse::<Type>()?),
                "output" => parsed.output = Some(input.parse::<Type>()?),
                "crate" => parsed.krate = Path::parse_mod_style(input)?,
                "module" => parsed.module = Some(input.parse::<Ident>()?),
                "timeout" => {
                    let value: Expr = input.parse()?;
                    parsed.timeout = duration(&value, errors);
                }
                _ => {
                    unknown_key(&key, "workflow", MACHINE_KEYS, errors);
                    // Skip the value so the remaining keys are still read.
                    input.parse::<Expr>()?;
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        // What was not read may have been the context: unknown, not `()`.
        parsed.context_unread = parsed.context.is_none();
        errors.push(e);
    }
    parsed
}
