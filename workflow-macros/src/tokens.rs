//! Values as the tokens of generated code: a checked definition as a
//! `static` (so what runs is exactly what was judged), durations, and
//! tokens respanned onto the user's.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use workflow_core::{
    Catcher, Definition, ErrorMatcher, Jitter, Kind, Retrier, State, Transition, WaitFor,
};

pub(crate) fn definition(def: &Definition, core: &TokenStream) -> TokenStream {
    let name = def.name.as_ref();
    let start = def.start.as_ref();
    let timeout = option(def.timeout.map(duration_tokens));
    let states = def.states.iter().map(|s| state(s, core));
    quote! {
        #core::Definition {
            name: ::std::borrow::Cow::Borrowed(#name),
            start: ::std::borrow::Cow::Borrowed(#start),
            timeout: #timeout,
            states: ::std::borrow::Cow::Borrowed(&[#(#states),*]),
        }
    }
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

fn cow(text: &str) -> TokenStream {
    quote!(::std::borrow::Cow::Borrowed(#text))
}

fn state(s: &State, core: &TokenStream) -> TokenStream {
    let name = cow(&s.name);
    let data = cow(&s.data);
    let kind = kind(&s.kind, core);
    let retry = s.retry.iter().map(|r| retrier(r, core));
    let catch = s.catch.iter().map(|c| catcher(c, core));
    quote! {
        #core::State {
            name: #name,
            data: #data,
            kind: #kind,
            retry: ::std::borrow::Cow::Borrowed(&[#(#retry),*]),
            catch: ::std::borrow::Cow::Borrowed(&[#(#catch),*]),
        }
    }
}

fn transition(t: &Transition, core: &TokenStream) -> TokenStream {
    match t {
        Transition::Next(name) => {
            let name = cow(name);
            quote!(#core::Transition::Next(#name))
        }
        Transition::End => quote!(#core::Transition::End),
    }
}

fn kind(kind: &Kind, core: &TokenStream) -> TokenStream {
    match kind {
        Kind::Task {
            handler,
            next,
            timeout,
            heartbeat,
        } => {
            let handler = cow(handler);
            let next = transition(next, core);
            let timeout = option(timeout.map(duration_tokens));
            let heartbeat = option(heartbeat.map(duration_tokens));
            quote!(#core::Kind::Task { handler: #handler, next: #next, timeout: #timeout, heartbeat: #heartbeat })
        }
        Kind::Choice { handler, targets } => {
            let handler = cow(handler);
            let targets = targets.iter().map(|t| cow(t));
            quote!(#core::Kind::Choice { handler: #handler, targets: ::std::borrow::Cow::Borrowed(&[#(#targets),*]) })
        }
        Kind::Pass { handler, next } => {
            let handler = option(handler.as_deref().map(cow));
            let next = cow(next);
            quote!(#core::Kind::Pass { handler: #handler, next: #next })
        }
        Kind::Wait { wait, next } => {
            let wait = match wait {
                WaitFor::Seconds(n) => quote!(#core::WaitFor::Seconds(#n)),
                WaitFor::Duration(d) => {
                    let d = duration_tokens(*d);
                    quote!(#core::WaitFor::Duration(#d))
                }
                WaitFor::Until(f) => {
                    let f = cow(f);
                    quote!(#core::WaitFor::Until(#f))
                }
                WaitFor::Delay(f) => {
                    let f = cow(f);
                    quote!(#core::WaitFor::Delay(#f))
                }
            };
            let next = cow(next);
            quote!(#core::Kind::Wait { wait: #wait, next: #next })
        }
        Kind::Parallel { branches, next } => {
            let branches = branches.iter().map(|b| cow(b));
            let next = transition(next, core);
            quote!(#core::Kind::Parallel { branches: ::std::borrow::Cow::Borrowed(&[#(#branches),*]), next: #next })
        }
        Kind::Map {
            workflow,
            items,
            max_concurrency,
            tolerance,
            next,
        } => {
            let workflow = cow(workflow);
            let items = cow(items);
            let count = option(tolerance.count.map(|n| quote!(#n)));
            let percentage = option(tolerance.percentage.map(float));
            let next = transition(next, core);
            quote! {
                #core::Kind::Map {
                    workflow: #workflow,
                    items: #items,
                    max_concurrency: #max_concurrency,
                    tolerance: #core::Tolerance { count: #count, percentage: #percentage },
                    next: #next,
                }
            }
        }
        Kind::Succeed => quote!(#core::Kind::Succeed),
        Kind::Fail { error, cause } => {
            let error = cow(error);
            let cause = option(cause.as_deref().map(cow));
            quote!(#core::Kind::Fail { error: #error, cause: #cause })
        }
    }
}

fn matchers(on: &[ErrorMatcher], core: &TokenStream) -> TokenStream {
    let items = on.iter().map(|m| match m {
        ErrorMatcher::Any => quote!(#core::ErrorMatcher::Any),
        ErrorMatcher::TaskFailed => quote!(#core::ErrorMatcher::TaskFailed),
        ErrorMatcher::Timeout => quote!(#core::ErrorMatcher::Timeout),
        ErrorMatcher::HeartbeatTimeout => quote!(#core::ErrorMatcher::HeartbeatTimeout),
        ErrorMatcher::Named(name) => {
            let name = cow(name);
            quote!(#core::ErrorMatcher::Named(#name))
        }
    });
    quote!(::std::borrow::Cow::Borrowed(&[#(#items),*]))
}

fn retrier(r: &Retrier, core: &TokenStream) -> TokenStream {
    let on = matchers(&r.on, core);
    let max_attempts = r.max_attempts;
    let interval = duration_tokens(r.interval);
    let backoff = float(r.backoff);
    let max_delay = option(r.max_delay.map(duration_tokens));
    let jitter = match r.jitter {
        Jitter::None => quote!(#core::Jitter::None),
        Jitter::Full => quote!(#core::Jitter::Full),
    };
    quote! {
        #core::Retrier {
            on: #on,
            max_attempts: #max_attempts,
            interval: #interval,
            backoff: #backoff,
            max_delay: #max_delay,
            jitter: #jitter,
        }
    }
}

fn catcher(c: &Catcher, core: &TokenStream) -> TokenStream {
    let on = matchers(&c.on, core);
    let next = cow(&c.next);
    quote!(#core::Catcher { on: #on, next: #next })
}

/// A float literal; non-finite values (which the checks refuse) would make
/// `proc_macro2` panic, so they are spelt as constants instead.
fn float(value: f64) -> TokenStream {
    if value.is_finite() {
        quote!(#value)
    } else if value.is_nan() {
        quote!(::core::primitive::f64::NAN)
    } else if value > 0.0 {
        quote!(::core::primitive::f64::INFINITY)
    } else {
        quote!(::core::primitive::f64::NEG_INFINITY)
    }
}

/// A duration as the tokens of a `Duration` constant, for generated code.
pub(crate) fn duration_tokens(d: Duration) -> TokenStream {
    let secs = d.as_secs();
    let nanos = d.subsec_nanos();
    quote!(::core::time::Duration::new(#secs, #nanos))
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
