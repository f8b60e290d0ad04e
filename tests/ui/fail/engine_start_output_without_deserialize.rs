use serde::{Deserialize, Serialize};
use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

struct Shop;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Order(u32);

#[derive(Debug, Serialize)]
struct Receipt(u32);

#[workflow(context = Shop, output = Receipt)]
#[derive(Serialize, Deserialize)]
enum Checkout {
    #[start]
    #[task(reserve, end)]
    Reserve(Order),
}

async fn reserve(_cx: Ctx<'_, Shop>, order: Order) -> Result<Receipt, Oops> {
    Ok(Receipt(order.0))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let engine = Engine::new(Shop);
    engine.register::<Checkout>();
    let handle = engine.start::<Checkout>("order-1", Order(1)).await.unwrap();
    match handle.await {
        Ok(Receipt(n)) => assert_eq!(n, 1),
        Err(e) => panic!("{e}"),
    }
}
