// A workflow without states.
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
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let receipt: String = Checkout::run(&(), Order { id: 7 }).await.unwrap();
    println!("{receipt}");
}
