// A state holds one value.
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
    #[task(reserve, next = Done)]
    Reserve(Order),

    #[succeed]
    Done(String, u32),
}

async fn reserve(_cx: Ctx<'_, ()>, order: Order) -> Result<(String, u32), OutOfStock> {
    Ok((format!("order {}", order.id), order.id))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (receipt, id): (String, u32) = Checkout::run(&(), Order { id: 7 }).await.unwrap();
    println!("{receipt} {id}");
}
