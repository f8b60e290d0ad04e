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
    #[map(Pack, items = items_of, next = Done)]
    #[catch(on = [Oops::Bussy], next = Dropped)]
    Spread(Vec<Order>),

    #[succeed]
    Done(Vec<Order>),

    #[fail(error = "Dropped")]
    Dropped(Reason),
}

#[derive(Debug, Serialize, Deserialize)]
struct Reason(String);

impl From<Caught<Vec<Order>, ExecutionError>> for Reason {
    fn from(caught: Caught<Vec<Order>, ExecutionError>) -> Self {
        Reason(caught.error.to_string())
    }
}

fn items_of(orders: &Vec<Order>) -> Vec<Order> {
    orders.clone()
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
    if order.0 == 0 { Err(Oops::Busy) } else { Ok(order) }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let engine = Engine::new(Shop);
    engine.register::<Checkout>();
    match Checkout::run(&Shop, vec![Order(1)]).await {
        Ok(orders) => assert_eq!(orders.len(), 1),
        Err(e) => panic!("{e}"),
    }
}
