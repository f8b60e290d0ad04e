//! `#[workflow(...)]`: the arguments of the whole workflow.
//!
//! A slip whose meaning is clear (a type in quotes, a missing `=` or comma,
//! the context type without its key, a misspelt key) is reported in the
//! DSL's terms and read as meant: the types it names then stay known to the
//! fallback expansion, so the program that uses the workflow adds no errors.

use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::{Expr, Ident, LitStr, Path, Token, Type};

use super::collect::{list, unknown_key};
use super::duration;
use super::values::MachineArgs;
use crate::ctxt::Errors;

/// The keys of `#[workflow(...)]`.
const MACHINE_KEYS: &[&str] = &["context", "output", "timeout", "crate", "module"];

/// Each key with a value, for messages.
fn example(key: &str) -> &'static str {
    match key {
        "context" => "context = Shop",
        "output" => "output = Receipt",
        "timeout" => "timeout = \"1h\"",
        "crate" => "crate = ::workflow",
        _ => "module = checkout_states",
    }
}

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
    let parser = |input: ParseStream| {
        let mut seen: Vec<String> = Vec::new();
        while !input.is_empty() {
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
                continue;
            }
            let before = input.cursor().token_stream().to_string();
            argument(input, &mut parsed, &mut seen, errors);
            if input.is_empty() {
                break;
            }
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            } else {
                errors.at(
                    input.span(),
                    "separate the arguments of #[workflow] with commas: #[workflow(context = Shop, timeout = \"1h\")]",
                );
                // Whatever happened, the loop moves on.
                if input.cursor().token_stream().to_string() == before {
                    input.parse::<TokenTree>()?;
                }
            }
        }
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    parsed
}

/// One argument: `key = value`, a key and its value without `=`, or a bare
/// type (taken for the context).
fn argument(input: ParseStream, parsed: &mut MachineArgs, seen: &mut Vec<String>, errors: &Errors) {
    let keyed = input.peek(Ident::peek_any) && input.peek2(Token![=]) && !input.peek2(Token![==]);
    if keyed {
        let Ok(key) = Ident::parse_any(input) else {
            return;
        };
        let _ = input.parse::<Token![=]>();
        value(input, &key, parsed, seen, errors);
        return;
    }
    let fork = input.fork();
    if let Ok(key) = Ident::parse_any(&fork)
        && MACHINE_KEYS.contains(&key.to_string().as_str())
    {
        let name = key.to_string();
        let _ = Ident::parse_any(input);
        if input.is_empty() || input.peek(Token![,]) {
            parsed.context_unread |= name == "context";
            errors.spanned(
                &key,
                format!("`{name}` needs a value: #[workflow({})]", example(&name)),
            );
        } else {
            errors.spanned(
                &key,
                format!(
                    "`{name}` and its value are joined by `=`: #[workflow({})]",
                    example(&name)
                ),
            );
            value(input, &key, parsed, seen, errors);
        }
        return;
    }
    match input.parse::<Type>() {
        Ok(ty) => {
            let text = quote::quote!(#ty).to_string().replace(' ', "");
            errors.spanned(
                &ty,
                format!(
                    "#[workflow] takes `key = value` arguments; to name the context type the handlers get, \
                     write #[workflow(context = {text})]"
                ),
            );
            if parsed.context.is_none() && !seen.iter().any(|k| k == "context") {
                parsed.context = Some(ty);
            }
        }
        Err(_) => {
            errors.at(
                input.span(),
                format!(
                    "expected `key = value`; #[workflow] knows {}",
                    list(MACHINE_KEYS)
                ),
            );
            skip_value(input);
        }
    }
}

/// The value of `key`, read up to the next comma.
fn value(
    input: ParseStream,
    key: &Ident,
    parsed: &mut MachineArgs,
    seen: &mut Vec<String>,
    errors: &Errors,
) {
    let name = key.unraw().to_string();
    let meant = if MACHINE_KEYS.contains(&name.as_str()) {
        if seen.contains(&name) {
            errors.spanned(key, format!("`{name}` is given twice"));
        }
        name.clone()
    } else {
        unknown_key(key, "workflow", MACHINE_KEYS, errors);
        match workflow_core::closest(&name, MACHINE_KEYS.iter().copied()) {
            // Read as meant, with no further message: one is enough.
            Some(close) if !seen.iter().any(|k| k == close) => {
                let quiet = Errors::new();
                seen.push(close.to_owned());
                read(input, close, parsed, &quiet);
                skip_value(input);
                return;
            }
            _ => {
                skip_value(input);
                return;
            }
        }
    };
    seen.push(meant.clone());
    read(input, &meant, parsed, errors);
    if !input.is_empty() && !input.peek(Token![,]) && !input.peek(Ident::peek_any) {
        errors.at(
            input.span(),
            format!(
                "`{meant}` takes one value: #[workflow({})]",
                example(&meant)
            ),
        );
        skip_value(input);
    }
}

/// Reads the value of the known key `key` into `parsed`.
fn read(input: ParseStream, key: &str, parsed: &mut MachineArgs, errors: &Errors) {
    match key {
        "context" => {
            parsed.context = typed(input, key, "a type", errors);
            parsed.context_unread = parsed.context.is_none();
        }
        "output" => parsed.output = typed(input, key, "a type", errors),
        "crate" => {
            if let Some(ModPath(path)) = typed(input, key, "a path", errors) {
                parsed.krate = path;
            }
        }
        "module" => parsed.module = typed(input, key, "a name", errors),
        _ => match input.parse::<Expr>() {
            Ok(value) => parsed.timeout = duration("timeout", &value, errors),
            Err(_) => {
                errors.at(
                    input.span(),
                    format!(
                        "`timeout` is a duration in a string: #[workflow({})]",
                        example("timeout")
                    ),
                );
                skip_value(input);
            }
        },
    }
}

/// A value that is a piece of Rust syntax: written in quotes, it is
/// reported and read without them.
fn typed<T: Parse>(input: ParseStream, key: &str, what: &str, errors: &Errors) -> Option<T> {
    if input.peek(LitStr) {
        let lit: LitStr = input.parse().ok()?;
        let text = lit.value();
        errors.spanned(
            &lit,
            format!("`{key}` takes {what}, not a string: #[workflow({key} = {text})]"),
        );
        return lit.parse::<T>().ok();
    }
    match input.parse::<T>() {
        Ok(value) => Some(value),
        Err(_) => {
            errors.at(
                input.span(),
                format!("`{key}` takes {what}: #[workflow({})]", example(key)),
            );
            skip_value(input);
            None
        }
    }
}

/// A module path (no generic arguments), for `crate = path`.
struct ModPath(Path);

impl Parse for ModPath {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        Path::parse_mod_style(input).map(ModPath)
    }
}

/// Skips tokens up to the next comma, so the next argument is still read.
fn skip_value(input: ParseStream) {
    while !input.is_empty() && !input.peek(Token![,]) {
        if input.parse::<TokenTree>().is_err() {
            break;
        }
    }
}
