//! A workflow declared inside a function body, with its data types beside
//! it, runs like one declared in a module.

#![deny(warnings)]

use workflow::prelude::*;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    #[derive(Debug, thiserror::Error)]
    #[error("never")]
    struct Never;

    #[derive(Debug, Clone, PartialEq)]
    struct Order(u32);

    #[workflow]
    enum Local {
        #[start]
        #[task(double, next = Done)]
        Begin(Order),

        #[succeed]
        Done(Order),
    }

    async fn double(_cx: Ctx<'_, ()>, order: Order) -> Result<Order, Never> {
        Ok(Order(order.0 * 2))
    }

    let done = Local::run(&(), Order(21)).await.unwrap();
    assert_eq!(done, Order(42));
}
