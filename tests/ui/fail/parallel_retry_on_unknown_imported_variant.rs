use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use Oops::*;

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
    #[parallel(branches = [Pack, Pack], next = Done)]
    #[retry(on = [Bussy])]
    Both(Order),

    #[succeed]
    Done((Order, Order)),
}

#[workflow(context = Shop)]
enum Pack {
    #[start]
    #[task(pack, next = Packed)]
    Packing(Order),

    #[succeed]
    Packed(Order),
}

async fn pack(_cx: Ctx<'_, Shop>, order: Order) -> Result<Order, Oops> {
    if order.0 == 0 { Err(Busy) } else { Ok(order) }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let engine = Engine::new(Shop);
    engine.register::<Checkout>();
    match Checkout::run(&Shop, Order(1)).await {
        Ok((Order(a), Order(b))) => assert_eq!(a, b),
        Err(e) => panic!("{e}"),
    }
}
