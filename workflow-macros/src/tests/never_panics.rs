//! The macro's promise: malformed input of any kind gives spanned errors,
//! never a panic. Valid workflows are mutated at random (spans of text
//! deleted, repeated or replaced) and every mutant that still lexes goes
//! through the whole pipeline.

use proc_macro2::TokenStream;
use proptest::prelude::*;

use crate::workflow_impl;

const ARGS: &str = r#"context = Shop, timeout = "1h", output = (u32, String), module = shop"#;

const ITEM: &str = r#"
pub enum Checkout {
    #[start]
    #[task(reserve_stock, next = Charge, timeout = "10s", heartbeat = "2s")]
    #[retry(on = [ShopError::Busy], max_attempts = 5, interval = "200ms", backoff = 2.0, max_delay = "5s", jitter = full)]
    #[retry(on = [any])]
    #[catch(on = [ShopError::OutOfStock, timeout], next = Cancelled)]
    Reserve(Cart),
    #[task(charge_card, next = Route, timeout = "30s", heartbeat = "10s")]
    #[retry(on = [timeout, task_failed, heartbeat_timeout], max_attempts = 3)]
    Charge(Reservation),
    #[choice(route, next = [Pack, Hold, Skip])]
    Route(Payment),
    #[pass(next = Pack)]
    Skip(Payment),
    #[wait(seconds = 3600, next = Pack)]
    Hold(Payment),
    #[map(PackItem, items = items_of, max_concurrency = 8, tolerated_failures = 2, tolerated_failure_percentage = 10.5, next = Notify)]
    Pack(Payment),
    #[parallel(branches = [Invoice, EmailCustomer], next = Done)]
    Notify(Vec<Parcel>),
    #[succeed]
    Done((InvoiceId, EmailId)),
    #[fail(error = "OrderCancelled", cause = "no stock")]
    Cancelled(CancelReason),
}
"#;

/// Runs the pipeline on source text; text that does not lex is skipped
/// (rustc would reject it before the macro ran).
fn expand(args: &str, item: &str) -> Option<TokenStream> {
    let args: TokenStream = args.parse().ok()?;
    let item: TokenStream = item.parse().ok()?;
    Some(workflow_impl(args, item))
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Repeat { at: usize, len: usize },
    Replace { at: usize, with: &'static str },
}

const REPLACEMENTS: &[&str] = &[
    "",
    ",",
    "=",
    "[",
    "]",
    "(",
    ")",
    "#",
    "::",
    "-",
    "\"",
    "1",
    "0",
    "-1.5",
    "\"x\"",
    "\"1 day\"",
    "end",
    "next",
    "any",
    "Done",
    "Nope",
    "self",
    "crate",
    "r#loop",
    "_",
    "1e999",
    "[]",
    "()",
    "#[start]",
    "#[succeed]",
    "#[task(f, next = Done)]",
    "<T>",
    "{ a: u8 }",
    "'a",
    "..",
];

fn mutation(len: usize) -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (0..len, 1..40usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (0..len, 1..40usize).prop_map(|(at, len)| Mutation::Repeat { at, len }),
        (0..len, proptest::sample::select(REPLACEMENTS))
            .prop_map(|(at, with)| Mutation::Replace { at, with }),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut text: Vec<char> = text.chars().collect();
    for m in mutations {
        let n = text.len();
        match *m {
            Mutation::Delete { at, len } => {
                let at = at.min(n);
                let end = (at + len).min(n);
                text.drain(at..end);
            }
            Mutation::Repeat { at, len } => {
                let at = at.min(n);
                let end = (at + len).min(n);
                let copy: Vec<char> = text[at..end].to_vec();
                text.splice(at..at, copy);
            }
            Mutation::Replace { at, with } => {
                let at = at.min(n);
                let end = (at + 1).min(n);
                text.splice(at..end, with.chars());
            }
        }
    }
    text.into_iter().collect()
}

#[test]
fn the_unmutated_workflow_expands_without_errors() {
    let out = expand(ARGS, ITEM).expect("lexes").to_string();
    assert!(!out.contains("compile_error"), "{out}");
    assert!(out.contains("impl :: workflow :: __private :: Workflow for Checkout"));
}

#[test]
fn hand_picked_malformed_inputs_give_errors() {
    let cases: &[(&str, &str)] = &[
        ("", "struct NotAnEnum;"),
        ("", "fn not_an_enum() {}"),
        ("", "enum Empty {}"),
        ("", "enum G<T> { #[start] #[succeed] A(T) }"),
        ("", "enum U { #[start] #[succeed] A }"),
        ("", "enum S { #[start] #[succeed] A { x: u8 } }"),
        ("", "enum T { #[start] #[succeed] A(u8, u8) }"),
        ("context", "enum E { #[start] #[succeed] A(u8) }"),
        ("context = ", "enum E { #[start] #[succeed] A(u8) }"),
        ("bogus = 1", "enum E { #[start] #[succeed] A(u8) }"),
        ("timeout = 5", "enum E { #[start] #[succeed] A(u8) }"),
        ("", "enum E { #[start] #[task = \"f\"] A(u8) }"),
        ("", "enum E { #[start] #[task()] A(u8) }"),
        ("", "enum E { #[start] #[task(f, next = [A])] A(u8) }"),
        (
            "",
            "enum E { #[start] #[retry(on = [any], backoff = 1e999)] #[task(f, end)] A(u8) }",
        ),
        (
            "",
            "enum E { #[start] #[retry(max_attempts = -1, on = any)] #[task(f, end)] A(u8) }",
        ),
        (
            "",
            "enum E { #[start] #[map(W, items = f, max_concurrency = 99999999999, end)] A(u8) }",
        ),
        ("", "enum Super { #[start] #[choice(f, next = [A])] A(u8) }"),
    ];
    for (args, item) in cases {
        let out = expand(args, item).expect("lexes").to_string();
        assert!(
            out.contains("compile_error"),
            "no error for `{item}` with `{args}`: {out}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_items_never_panic(mutations in proptest::collection::vec(mutation(ITEM.len()), 1..4)) {
        let _ = expand(ARGS, &apply(ITEM, &mutations));
    }

    #[test]
    fn mutated_arguments_never_panic(mutations in proptest::collection::vec(mutation(ARGS.len()), 1..4)) {
        let _ = expand(&apply(ARGS, &mutations), ITEM);
    }
}
