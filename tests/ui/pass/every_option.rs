//! Every option: the workflow's context, timeout, output and module name;
//! task timeout and heartbeat; retry with every key, several retriers and
//! catchers (by variant and by class); a catch target that takes
//! `Caught<In, E>` itself and one that converts from it; `end`; a pub workflow.

#![deny(warnings)]

use workflow::prelude::*;

pub struct Bank {
    pub name: &'static str,
}

#[derive(Debug, Clone)]
pub struct Order {
    pub amount: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum PayError {
    #[error("busy")]
    Busy,
    #[error("declined: {0}")]
    Declined(String),
    #[error("limit {limit}")]
    Limit { limit: u64 },
}

#[derive(Debug)]
pub struct Refund {
    pub amount: u64,
    pub why: String,
}

impl From<Caught<Order, PayError>> for Refund {
    fn from(caught: Caught<Order, PayError>) -> Self {
        Refund {
            amount: caught.input.amount,
            why: caught.error.to_string(),
        }
    }
}

#[workflow(context = Bank, timeout = "1h", output = u64, module = pay_flow)]
pub enum Pay {
    #[start]
    #[task(charge, next = Review, timeout = "30s", heartbeat = "5s")]
    #[retry(on = [PayError::Busy], max_attempts = 5, interval = "200ms", backoff = 1.5, max_delay = "10s", jitter = full)]
    #[retry(on = [timeout, heartbeat_timeout], max_attempts = 2, interval = "1s", backoff = 1.0, jitter = none)]
    #[retry(on = [task_failed], max_attempts = 0)]
    #[catch(on = [PayError::Declined, PayError::Limit], next = Refunding)]
    #[catch(on = [any], next = Broken)]
    Charge(Order),

    #[choice(review, next = [Settle, Charge])]
    Review(u64),

    #[task(settle, end)]
    #[retry(on = [any])]
    Settle(u64),

    #[task(refund, end)]
    Refunding(Refund),

    #[fail(error = "Broken")]
    Broken(Caught<Order, PayError>),
}

async fn charge(cx: Ctx<'_, Bank>, order: Order) -> Result<u64, PayError> {
    cx.heartbeat();
    let _key = cx.idempotency_key().to_string();
    let _ = (cx.attempt(), cx.execution_id(), cx.state(), cx.name);
    Ok(order.amount)
}

fn review(amount: u64) -> pay_flow::Review {
    if amount > 0 {
        pay_flow::Review::Settle(amount)
    } else {
        pay_flow::Review::Charge(Order { amount: 1 })
    }
}

async fn settle(_cx: Ctx<'_, Bank>, amount: u64) -> Result<u64, PayError> {
    Ok(amount)
}

async fn refund(_cx: Ctx<'_, Bank>, refund: Refund) -> Result<u64, PayError> {
    let _ = refund.why;
    Ok(refund.amount)
}

fn main() {
    fn assert_workflow<W: Workflow<Input = Order, Output = u64, Context = Bank>>() {}
    assert_workflow::<Pay>();
    let definition: &Definition = Pay::definition();
    assert_eq!(definition.states.len(), 5);
}
