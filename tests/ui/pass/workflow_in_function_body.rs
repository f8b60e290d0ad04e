//! A workflow declared inside a function body, with its data types and
//! functions beside it, runs like one declared in a module, choice included.

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
        #[task(double, next = Route)]
        Begin(Order),

        #[choice(route, next = [Small, Large])]
        Route(Order),

        #[succeed]
        Small(Order),

        #[pass(next = Small)]
        Large(Order),
    }

    async fn double(_cx: Ctx<'_, ()>, order: Order) -> Result<Order, Never> {
        Ok(Order(order.0 * 2))
    }

    fn route(order: Order) -> local::Route {
        if order.0 < 10 {
            local::Route::Small(order)
        } else {
            local::Route::Large(order)
        }
    }

    let done = Local::run(&(), Order(21)).await.unwrap();
    assert_eq!(done, Order(42));
}
