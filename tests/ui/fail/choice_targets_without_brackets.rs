// A choice lists its targets in brackets.
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
    #[choice(route, next = Small, Large)]
    Route(Order),

    #[pass(describe, next = Done)]
    Small(Order),

    #[pass(describe, next = Done)]
    Large(Order),

    #[succeed]
    Done(String),
}

fn route(order: Order) -> checkout::Route {
    if order.id < 10 {
        checkout::Route::Small(order)
    } else {
        checkout::Route::Large(order)
    }
}

fn describe(order: Order) -> String {
    format!("order {}", order.id)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let receipt: String = Checkout::run(&(), Order { id: 7 }).await.unwrap();
    println!("{receipt}");
}
