// A wait says how long once.
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
    #[wait(duration = "1h", delay = hold_for, next = Reserve)]
    Hold(Order),

    #[task(reserve, next = Done)]
    Reserve(Order),

    #[succeed]
    Done(String),
}

async fn reserve(_cx: Ctx<'_, ()>, order: Order) -> Result<String, OutOfStock> {
    Ok(format!("order {}", order.id))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let receipt: String = Checkout::run(&(), Order { id: 7 }).await.unwrap();
    println!("{receipt}");
}

fn hold_for(order: &Order) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(order.id))
}
