//! Choice, pass and wait functions that read the workflow's context (`&C`
//! first), beside the forms without it (a function, a generic function, a
//! tuple struct's constructor), in one workflow.

#![deny(warnings)]

use std::time::{Duration, SystemTime};

use workflow::prelude::*;

pub struct Shop {
    pub limit: u32,
    pub hold: Duration,
}

#[workflow(context = Shop)]
pub enum Order {
    #[start]
    #[choice(route, next = [Large, Small])]
    Route(u32),

    #[pass(scale, next = Hold)]
    Large(u32),

    #[pass(Wrapped, next = Unwrap)]
    Small(u32),

    #[pass(unwrap, next = Same)]
    Unwrap(Wrapped),

    #[pass(identity, next = Hold)]
    Same(u32),

    #[wait(delay = hold, next = Settle)]
    Hold(u32),

    #[wait(until = settle, next = Done)]
    Settle(u32),

    #[succeed]
    Done(u32),
}

pub struct Wrapped(pub u32);

fn route(shop: &Shop, n: u32) -> order::Route {
    if n > shop.limit {
        order::Route::Large(n)
    } else {
        order::Route::Small(n)
    }
}

fn scale(shop: &Shop, n: u32) -> u32 {
    n.min(shop.limit)
}

fn unwrap(w: Wrapped) -> u32 {
    w.0
}

fn identity<T>(t: T) -> T {
    t
}

fn hold(shop: &Shop, _n: &u32) -> Duration {
    shop.hold
}

fn settle(_n: &u32) -> SystemTime {
    SystemTime::UNIX_EPOCH
}

fn main() {
    let _ = Order::definition();
}
