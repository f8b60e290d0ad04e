use serde::{Deserialize, Serialize};
use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

struct Shop;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Order(u32);

#[workflow(context = Shop)]
#[derive(Serialize, Deserialize)]
enum Checkout {
    #[start]
    #[choice(route, next = [Small, Large])]
    Route(Order),

    #[succeed]
    Small(Order),

    #[succeed]
    Large(Order),
}

fn route(_cx: Ctx<'_, Shop>, order: Order) -> checkout::Route {
    if order.0 < 10 {
        checkout::Route::Small(order)
    } else {
        checkout::Route::Large(order)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let engine = Engine::new(Shop);
    engine.register::<Checkout>();
    match Checkout::run(&Shop, Order(1)).await {
        Ok(Order(n)) => assert_eq!(n, 1),
        Err(e) => panic!("{e}"),
    }
}
