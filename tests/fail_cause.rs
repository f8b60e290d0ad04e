//! What a Fail state reports as its cause: the data's `Display` when it has
//! one, its `Debug` otherwise, the field `cause = field` names, or the fixed
//! `cause = "..."`.

use std::fmt;

use workflow::prelude::*;

/// Data that says how it reads to people.
#[derive(Debug)]
pub struct Shown {
    pub order: u32,
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "order {} is out of stock", self.order)
    }
}

/// Data with only `Debug`.
#[derive(Debug)]
pub struct Plain {
    pub order: u32,
}

/// Data whose cause is one of its fields.
#[derive(Debug)]
pub struct Refusal {
    pub order: u32,
    pub reason: String,
}

#[workflow]
pub enum ByDisplay {
    #[start]
    #[pass(shown, next = Stop)]
    Begin(u32),
    #[fail(error = "OutOfStock")]
    Stop(Shown),
}

fn shown(order: u32) -> Shown {
    Shown { order }
}

#[workflow]
pub enum ByDebug {
    #[start]
    #[pass(plain, next = Stop)]
    Begin(u32),
    #[fail(error = "OutOfStock")]
    Stop(Plain),
}

fn plain(order: u32) -> Plain {
    Plain { order }
}

#[workflow]
pub enum ByField {
    #[start]
    #[pass(refuse, next = Stop)]
    Begin(u32),
    #[fail(error = "Refused", cause = reason)]
    Stop(Refusal),
}

fn refuse(order: u32) -> Refusal {
    Refusal {
        order,
        reason: format!("order {order} needs a signature"),
    }
}

async fn cause_of<W: Workflow<Context = ()>>(input: W::Input) -> String {
    let error = W::run(&(), input).await.err().expect("the workflow fails");
    error.failure().expect("at a Fail state").cause.clone()
}

#[tokio::test]
async fn display_data_is_its_own_cause() {
    assert_eq!(cause_of::<ByDisplay>(7).await, "order 7 is out of stock");
}

#[tokio::test]
async fn data_without_display_is_described_by_its_debug() {
    assert_eq!(cause_of::<ByDebug>(7).await, "Plain { order: 7 }");
}

#[tokio::test]
async fn a_named_field_is_the_cause() {
    assert_eq!(cause_of::<ByField>(7).await, "order 7 needs a signature");
}
