use serde::{Deserialize, Serialize};
use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
enum Oops {
    #[error("busy")]
    Busy,
}

struct Shop;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Order(u32);

#[workflow(context = Shop)]
#[derive(Serialize, Deserialize)]
enum Checkout {
    #[start]
    #[task(reserve, next = Done, timeout = "30s")]
    #[catch(on = [heartbeat_timeout], next = Dropped)]
    Reserve(Order),

    #[succeed]
    Done(Order),

    #[fail(error = "Dropped")]
    Dropped(Reason),
}

#[derive(Debug, Serialize, Deserialize)]
struct Reason(String);

impl From<Caught<Order, Oops>> for Reason {
    fn from(caught: Caught<Order, Oops>) -> Self {
        Reason(caught.error.to_string())
    }
}

async fn reserve(_cx: Ctx<'_, Shop>, order: Order) -> Result<Order, Oops> {
    Ok(order)
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
