//! One `match` arm of `step()` per state: the calls of the user's
//! functions, each spanned on the user's own tokens, and the checkpoint or
//! output it leads to.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use super::local;
use crate::ast::{FailCause, KindSpec, Machine, StateAst, Target, Wait};
use crate::choices::choice_module_ident;
use crate::expand::policies::ErrorMode;
use crate::tokens::respan;

pub(super) struct Gen<'a> {
    pub(super) m: &'a Machine,
    pub(super) rt: &'a TokenStream,
    pub(super) output_ty: &'a TokenStream,
    pub(super) context_ty: &'a TokenStream,
}

impl Gen<'_> {
    pub(super) fn arm(&self, s: &StateAst) -> TokenStream {
        let workflow = self.m.ident();
        let state = &s.ident;
        let rt = self.rt;
        let input = local("__input", Span::call_site());
        let Some(kind) = &s.kind else {
            return TokenStream::new();
        };
        match &kind.spec {
            KindSpec::Task {
                handler,
                next,
                timeout,
                heartbeat,
            } => {
                let span = handler.span();
                let cx = local("__cx", span);
                let input_at = local("__input", span);
                let policies = !s.retry.is_empty() || !s.catch.is_empty();
                let arg = if policies {
                    self.resend(s)
                } else {
                    quote!(#input_at)
                };
                let context_ty = self.context_ty;
                let ty = &s.ty;
                let out_ty = self.target_type(next);
                let rt_at = respan(rt, span);
                // The types are named, not inferred, so that a misfit's
                // message spells out the whole signature the task expects.
                // Without timers, the attempt is the handler's future alone:
                // no timer code is generated for the state.
                let attempt = if timeout.is_none() && heartbeat.is_none() {
                    format_ident!("untimed_task", span = span)
                } else {
                    format_ident!("task", span = span)
                };
                let run = quote_spanned! {span=>
                    #cx.#attempt(#rt_at::typing::task::<#context_ty, #ty, #out_ty, _, _>(
                        #cx.task_ctx(), #arg, #handler,
                    )).await
                };
                // The error type is checked where the error is described,
                // on its own, so that a misfit names it.
                let failed_at = local("__failed", span);
                let attempted = quote_spanned!(span=> #rt_at::typing::attempted(#failed_at));
                let out = local("__out", Span::call_site());
                let deliver = self.deliver(next, &out);
                let failure = self.failure(s, ErrorMode::Task);
                quote! {
                    #workflow::#state(#input) => {
                        match #run {
                            ::core::result::Result::Ok(#out) => #deliver,
                            ::core::result::Result::Err(__failed) => {
                                let __attempted = #attempted;
                                let __error = __attempted.error;
                                let __info = __attempted.info;
                                #failure
                            }
                        }
                    }
                }
            }
            KindSpec::Choice { handler, .. } => {
                let span = handler.span();
                let module = choice_module_ident(self.m);
                let rt_at = respan(rt, span);
                let cx = local("__cx", span);
                let input_at = local("__input", span);
                let choice = quote_spanned! {span=>
                    #rt_at::typing::choose::<#module::#state, _, _, _, _>(
                        #cx.context(), #input_at, #handler,
                    )
                };
                quote! {
                    #workflow::#state(#input) => {
                        let __choice = #choice;
                        #rt::Step::Next(::core::convert::From::from(__choice))
                    }
                }
            }
            KindSpec::Pass { handler, next } => {
                let value = match handler {
                    Some(f) => self.call(f, false),
                    None => quote!(#input),
                };
                let target = Target::Next(next.clone());
                let value_ident = local("__value", Span::call_site());
                let deliver = self.deliver(&target, &value_ident);
                quote! {
                    #workflow::#state(#input) => {
                        let #value_ident = #value;
                        #deliver
                    }
                }
            }
            KindSpec::Wait { how, next } => {
                let until = match how {
                    Wait::Seconds(n) => {
                        quote!(#rt::WaitUntil::Elapsed(::core::time::Duration::from_secs(#n)))
                    }
                    Wait::Duration(d) => {
                        let d = crate::tokens::duration_tokens(d.value);
                        quote!(#rt::WaitUntil::Elapsed(#d))
                    }
                    Wait::Until(f) => {
                        let call = self.call(f, true);
                        let rt = respan(rt, f.span());
                        quote_spanned!(f.span()=> #rt::typing::until(#call))
                    }
                    Wait::Delay(f) => {
                        let call = self.call(f, true);
                        let rt = respan(rt, f.span());
                        quote_spanned!(f.span()=> #rt::typing::delay(#call))
                    }
                };
                let target = Target::Next(next.clone());
                let next_value = self.construct(&target, &input);
                quote! {
                    #workflow::#state(#input) => {
                        let __until = #until;
                        #rt::Step::Wait { next: #next_value, until: __until }
                    }
                }
            }
            KindSpec::Parallel { branches, next } => {
                let policies = !s.retry.is_empty() || !s.catch.is_empty();
                let last = branches.len().saturating_sub(1);
                let starts = branches.iter().enumerate().map(|(i, branch)| {
                    let span = branch.span();
                    let cx = local("__cx", span);
                    let input_at = local("__input", span);
                    let var = format_ident!("__branch_{}", i);
                    let arg = if i == last && !policies {
                        quote!(#input_at)
                    } else {
                        self.resend(s)
                    };
                    let ty = &s.ty;
                    let call = quote_spanned!(span=> #cx.branch::<#branch, #ty>(#i, #arg));
                    quote!(let #var = #call;)
                });
                let vars = (0..branches.len()).map(|i| format_ident!("__branch_{}", i));
                let out = local("__out", Span::call_site());
                let deliver = self.deliver(next, &out);
                let failure = self.failure(s, ErrorMode::Branch);
                quote! {
                    #workflow::#state(#input) => {
                        let __outcome = {
                            #(#starts)*
                            #rt::tokio::try_join!(#(#vars),*)
                        };
                        match __outcome {
                            ::core::result::Result::Ok(#out) => #deliver,
                            ::core::result::Result::Err(__error) => { #failure }
                        }
                    }
                }
            }
            KindSpec::Map {
                workflow: item_workflow,
                items,
                tolerated_failures,
                tolerated_percentage,
                next,
                ..
            } => {
                let list = self.call(items, true);
                let span = item_workflow.span();
                let cx = local("__cx", span);
                let items_var = local("__items", span);
                let method = if tolerated_failures.is_some() || tolerated_percentage.is_some() {
                    quote_spanned!(span=> map_tolerant)
                } else {
                    quote_spanned!(span=> map)
                };
                // The workflow comes last, as a value, so that the compiler
                // knows the items' type before it checks the workflow
                // against it: a misfit is `Branch`'s one message, not also
                // a mismatch of `Item` types found while that type was open.
                let run = quote_spanned!(span=> #cx.#method(
                    #items_var,
                    ::core::marker::PhantomData::<fn() -> #item_workflow>,
                ).await);
                let out = local("__out", Span::call_site());
                let deliver = self.deliver(next, &out);
                let failure = self.failure(s, ErrorMode::Branch);
                quote! {
                    #workflow::#state(#input) => {
                        let __items = #list;
                        match #run {
                            ::core::result::Result::Ok(#out) => #deliver,
                            ::core::result::Result::Err(__error) => { #failure }
                        }
                    }
                }
            }
            KindSpec::Succeed => {
                let span = s.ident.span();
                let input_at = local("__input", span);
                let output_ty = self.output_ty;
                let rt = respan(rt, span);
                let value = quote_spanned!(span=> #rt::typing::output::<#output_ty, _>(#input_at));
                quote! {
                    #workflow::#state(#input) => #rt::Step::Succeeded(#value),
                }
            }
            KindSpec::Fail { error, cause } => {
                let span = s.ident.span();
                let input_at = local("__input", span);
                let rt = respan(rt, span);
                let cause = match cause {
                    // The data is bound (and dropped) so that a fixed cause
                    // does not leave the variant's field unread.
                    Some(FailCause::Fixed(cause)) => {
                        quote!({ let _ = #input; ::std::string::String::from(#cause) })
                    }
                    Some(FailCause::Field(field)) => {
                        quote_spanned!(field.span()=> #rt::typing::cause_field(&#input_at.#field))
                    }
                    // The data's `Display` if it has one, else its `Debug`.
                    None => quote_spanned!(span=> {
                        #[allow(unused_imports)]
                        use #rt::typing::{
                            CauseByDebug as _, CauseByDisplay as _, CauseMissing as _,
                        };
                        #rt::typing::cause_text((&&&#rt::typing::CauseOf(&#input_at)).cause())
                    }),
                };
                quote! {
                    #workflow::#state(#input) => #rt::Step::Failed(
                        __cx.failure(#rt::ErrorInfo::new(#error, #cause))
                    ),
                }
            }
        }
    }

    /// A call of a pass, wait or map items function `f` on the
    /// state's data (by reference for a wait's and a map's), with the
    /// workflow's context first if `f` takes it: the runtime's `StateFn`
    /// tells the two forms apart by the function's signature.
    fn call(&self, f: &syn::Path, by_ref: bool) -> TokenStream {
        let span = f.span();
        let rt = respan(self.rt, span);
        let cx = local("__cx", span);
        let input_at = local("__input", span);
        let arg = if by_ref {
            quote_spanned!(span=> &#input_at)
        } else {
            quote!(#input_at)
        };
        quote_spanned!(span=> #rt::typing::call(#cx.context(), #arg, #f))
    }

    /// The data type of the state `target` leads to: the next state's, or
    /// the workflow's output for `end`.
    fn target_type(&self, target: &Target) -> TokenStream {
        match target {
            Target::Next(next) => match self.m.state(next) {
                Some(state) => {
                    let ty = &state.ty;
                    quote!(#ty)
                }
                // An unknown target is reported already.
                None => quote!(()),
            },
            Target::End(_) => self.output_ty.clone(),
        }
    }

    /// A copy of the state's input, checked to be `Clone` on the state's own
    /// data type (`Reserve(Cart)` points at `Cart`).
    fn resend(&self, s: &StateAst) -> TokenStream {
        let rt = self.rt;
        let ty = &s.ty;
        let span = ty.span();
        let input_at = local("__input", span);
        let rt = respan(rt, span);
        quote_spanned!(span=> <#ty as #rt::typing::Resend>::resend(&#input_at))
    }

    /// The checkpoint of state `next` holding `value`, checked to fit; the
    /// check is spanned on the `next = X` token.
    fn construct(&self, target: &Target, value: &Ident) -> TokenStream {
        let workflow = self.m.ident();
        let rt = self.rt;
        match target {
            Target::Next(next) => {
                let span = next.span();
                let value_at = local(&value.to_string(), span);
                let ty = self
                    .m
                    .state(next)
                    .map(|s| s.ty.clone())
                    .unwrap_or_else(|| syn::parse_quote!(()));
                let rt = respan(rt, span);
                quote_spanned!(span=> #workflow::#next(#rt::typing::edge::<#ty, _>(#value_at)))
            }
            // A Wait state's or pass's target is never `end`.
            Target::End(_) => TokenStream::new(),
        }
    }

    /// The step for a state's output: the next checkpoint, or success.
    fn deliver(&self, target: &Target, value: &Ident) -> TokenStream {
        let rt = self.rt;
        match target {
            Target::Next(_) => {
                let next = self.construct(target, value);
                quote!(#rt::Step::Next(#next))
            }
            Target::End(span) => {
                let value_at = local(&value.to_string(), *span);
                let output_ty = self.output_ty;
                let rt_at = respan(rt, *span);
                let checked =
                    quote_spanned!(*span=> #rt_at::typing::output::<#output_ty, _>(#value_at));
                quote!(#rt::Step::Succeeded(#checked))
            }
        }
    }
}
