//! What a failed attempt leads to: the retriers, then the catchers, then
//! the execution's failure; and which errors each of them matches.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::local;
use super::step::Gen;
use crate::ast::{Matcher, StateAst};
use crate::tokens::respan;

/// How a state's errors are matched: by pattern on the handler's typed error,
/// or by name on a branch's failure.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum ErrorMode {
    Task,
    Branch,
}

impl Gen<'_> {
    /// After a failed attempt: the first matching retrier decides; once it is
    /// spent (or none matched) the first matching catcher routes; otherwise
    /// the execution fails.
    pub(super) fn failure(&self, s: &StateAst, mode: ErrorMode) -> TokenStream {
        let workflow = self.m.ident();
        let state = &s.ident;
        let rt = self.rt;
        // A task's attempt comes with its info; a branch's is derived here.
        let info = match mode {
            ErrorMode::Task => TokenStream::new(),
            ErrorMode::Branch => quote!(let __info = #rt::branch_info(&__error);),
        };
        let mut retries = TokenStream::new();
        for (i, retry) in s.retry.iter().enumerate() {
            let condition = self.matches(&retry.on, mode);
            let clause = quote! {
                if #condition {
                    if __cx.may_retry(#i) {
                        return #rt::Step::Retry {
                            state: #workflow::#state(__input),
                            retrier: #i,
                            error: __info,
                        };
                    }
                }
            };
            retries = if i == 0 {
                clause
            } else {
                quote!(#retries else #clause)
            };
        }
        let catches = s.catch.iter().enumerate().map(|(i, catch)| {
            let condition = self.matches(&catch.on, mode);
            let next = &catch.next;
            let span = next.span();
            let ty = self
                .m
                .state(next)
                .map(|s| s.ty.clone())
                .unwrap_or_else(|| syn::parse_quote!(()));
            let input_at = local("__input", span);
            let error_at = local("__error", span);
            let rt_at = respan(rt, span);
            let caught = quote_spanned! {span=>
                #rt_at::typing::catch::<#ty, _>(#rt_at::Caught { input: #input_at, error: #error_at })
            };
            quote! {
                if #condition {
                    return #rt::Step::Caught {
                        next: #workflow::#next(#caught),
                        catcher: #i,
                        error: __info,
                    };
                }
            }
        });
        quote! {
            #info
            #retries
            #(#catches)*
            #rt::Step::Failed(__cx.failure(__info))
        }
    }

    /// Whether the error at hand is one of `on`.
    fn matches(&self, on: &[Matcher], mode: ErrorMode) -> TokenStream {
        let rt = self.rt;
        let each = on.iter().map(|m| match (m, mode) {
            (Matcher::Any(_), _) => quote!(true),
            (Matcher::TaskFailed(_), ErrorMode::Task) => quote!(!__error.is_timeout()),
            // As States.Timeout in Step Functions: either kind of timeout.
            (Matcher::Timeout(_), ErrorMode::Task) => quote!(__error.is_timeout()),
            (Matcher::HeartbeatTimeout(_), ErrorMode::Task) => {
                quote!(::core::matches!(&__error, #rt::TaskError::HeartbeatTimeout))
            }
            (Matcher::Variant(path), ErrorMode::Task) => {
                let span = path.span();
                let error_at = local("__error", span);
                let rt = respan(rt, span);
                quote_spanned!(span=> ::core::matches!(&#error_at, #rt::TaskError::Failed(#path { .. })))
            }
            (Matcher::TaskFailed(_), ErrorMode::Branch) => {
                quote!((__info.name != "States.Timeout" && __info.name != "States.HeartbeatTimeout"))
            }
            (Matcher::Timeout(_), ErrorMode::Branch) => {
                quote!((__info.name == "States.Timeout" || __info.name == "States.HeartbeatTimeout"))
            }
            (Matcher::HeartbeatTimeout(_), ErrorMode::Branch) => {
                quote!((__info.name == "States.HeartbeatTimeout"))
            }
            // By name, as a child reports its failure; the name is the
            // runtime's for the variant's own type, and the path is checked
            // by the compiler as a pattern.
            (Matcher::Variant(path), ErrorMode::Branch) => {
                let span = path.span();
                let info_at = local("__info", span);
                let rt = respan(rt, span);
                let variant = path
                    .segments
                    .last()
                    .map(|segment| segment.ident.to_string())
                    .unwrap_or_default();
                quote_spanned! {span=>
                    (#info_at.name == #rt::typing::variant_name(
                        |__e| ::core::matches!(__e, #path { .. }),
                        #variant,
                    ))
                }
            }
        });
        quote!((false #(|| #each)*))
    }
}
