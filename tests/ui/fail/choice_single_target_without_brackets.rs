// Even one target of a choice goes in brackets.
use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("out of stock")]
struct OutOfStock;

#[derive(Debug, Clone)]
struct Order {
    id: u32,
}

#[workflow]
enum Checkout {
    #[start]
    #[choice(route, next = Small)]
    Route(Order),

    #[pass(describe, next = Done)]
    Small(Order),

    #[succeed]
    Done(String),
}

fn route(order: Order) -> checkout::Route {
    checkout::Route::Small(order)
}

fn describe(order: Order) -> String {
    format!("order {}", order.id)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let receipt: String = Checkout::run(&(), Order { id: 7 }).await.unwrap();
    println!("{receipt}");
}
