use serde::{Deserialize, Serialize};
use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

struct Shop;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Order(u32);

#[workflow(context = Shop)]
#[derive(Deserialize)]
enum Checkout {
    #[start]
    #[task(reserve, next = Done)]
    Reserve(Order),

    #[succeed]
    Done(Order),
}
async fn reserve(_cx: Ctx<'_, Shop>, input: Order) -> Result<Order, Oops> {
    Ok(input)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let engine = Engine::new(Shop);
    engine.register::<Checkout>();
    let handle = engine.start::<Checkout>("order-1", Order(1)).await.unwrap();
    match handle.await {
        Ok(Order(n)) => assert_eq!(n, 1),
        Err(e) => panic!("{e}"),
    }
}
