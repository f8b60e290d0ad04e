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
use syn::spanned::Spanned;
use syn::{Ident, Type};
use workflow_core::Definition;

use crate::ast::{FailCause, KindSpec, Machine, MatcherAst, StateAst, Target, WaitAst};
use crate::choices::{choice_module, choice_module_ident};
use crate::lower;
use crate::tokens;

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
    let context_alias = context_alias(m);
    quote! {
        #item
        #module
        #context_alias
        impl #rt::Workflow for #workflow {
            type Input = #input_ty;
            type Output = #output_ty;
            type Context = #context_ty;

            fn definition() -> &'static #core::Definition {
                static DEFINITION: #core::Definition = #definition;
                &DEFINITION
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

/// The same tokens, every one spanned on `span`: a path into the runtime
/// written inside a check then points at the user's token, not at the call.
pub(crate) fn respan(tokens: &TokenStream, span: Span) -> TokenStream {
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

/// How a state's errors are matched: by pattern on the handler's typed error,
/// or by name on a branch's failure.
#[derive(Clone, Copy, PartialEq)]
enum ErrorMode {
    Task,
    Branch,
}

struct Gen<'a> {
    m: &'a Machine,
    rt: &'a TokenStream,
    output_ty: &'a TokenStream,
}

impl Gen<'_> {
    fn arm(&self, s: &StateAst) -> TokenStream {
        let workflow = self.m.ident();
        let state = &s.ident;
        let rt = self.rt;
        let input = local("__input", Span::call_site());
        let Some(kind) = &s.kind else {
            return TokenStream::new();
        };
        match &kind.spec {
            KindSpec::Task { handler, next, .. } => {
                let span = handler.span();
                let cx = local("__cx", span);
                let input_at = local("__input", span);
                let policies = !s.retry.is_empty() || !s.catch.is_empty();
                let arg = if policies {
                    self.resend(s)
                } else {
                    quote!(#input_at)
                };
                let run = quote_spanned! {span=>
                    #cx.task(#handler(#cx.task_ctx(), #arg)).await
                };
                let out = local("__out", Span::call_site());
                let deliver = self.deliver(next, &out);
                let failure = self.failure(s, ErrorMode::Task);
                quote! {
                    #workflow::#state(#input) => {
                        match #run {
                            ::core::result::Result::Ok(#out) => #deliver,
                            ::core::result::Result::Err(__attempted) => {
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
                let call = self.call(handler, false);
                let annotation = quote_spanned!(span=> #module::#state);
                quote! {
                    #workflow::#state(#input) => {
                        let __choice: #annotation = #call;
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
                    WaitAst::Seconds(n) => {
                        quote!(#rt::WaitUntil::Elapsed(::core::time::Duration::from_secs(#n)))
                    }
                    WaitAst::Duration(d) => {
                        let d = crate::attr::duration_tokens(d.value);
                        quote!(#rt::WaitUntil::Elapsed(#d))
                    }
                    WaitAst::Until(f) => {
                        let call = self.call(f, true);
                        let rt = respan(rt, f.span());
                        quote_spanned!(f.span()=> #rt::typing::until(#call))
                    }
                    WaitAst::Delay(f) => {
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
                let run = quote_spanned!(span=> #cx.#method::<#item_workflow, _>(#items_var).await);
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

    /// A call of a choice, pass, wait or map items function `f` on the
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

    /// After a failed attempt: the first matching retrier decides; once it is
    /// spent (or none matched) the first matching catcher routes; otherwise
    /// the execution fails.
    fn failure(&self, s: &StateAst, mode: ErrorMode) -> TokenStream {
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
    fn matches(&self, on: &[MatcherAst], mode: ErrorMode) -> TokenStream {
        let rt = self.rt;
        let each = on.iter().map(|m| match (m, mode) {
            (MatcherAst::Any(_), _) => quote!(true),
            (MatcherAst::TaskFailed(_), ErrorMode::Task) => quote!(!__error.is_timeout()),
            // As States.Timeout in Step Functions: either kind of timeout.
            (MatcherAst::Timeout(_), ErrorMode::Task) => quote!(__error.is_timeout()),
            (MatcherAst::HeartbeatTimeout(_), ErrorMode::Task) => {
                quote!(::core::matches!(&__error, #rt::TaskError::HeartbeatTimeout))
            }
            (MatcherAst::Variant(path), ErrorMode::Task) => {
                let span = path.span();
                let error_at = local("__error", span);
                let rt = respan(rt, span);
                quote_spanned!(span=> ::core::matches!(&#error_at, #rt::TaskError::Failed(#path { .. })))
            }
            (MatcherAst::TaskFailed(_), ErrorMode::Branch) => {
                quote!((__info.name != "States.Timeout" && __info.name != "States.HeartbeatTimeout"))
            }
            (MatcherAst::Timeout(_), ErrorMode::Branch) => {
                quote!((__info.name == "States.Timeout" || __info.name == "States.HeartbeatTimeout"))
            }
            (MatcherAst::HeartbeatTimeout(_), ErrorMode::Branch) => {
                quote!((__info.name == "States.HeartbeatTimeout"))
            }
            (MatcherAst::Variant(path), ErrorMode::Branch) => {
                let name = lower::error_name(path);
                quote!((__info.name == #name))
            }
        });
        quote!((false #(|| #each)*))
    }
}
