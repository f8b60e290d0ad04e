// A context type that does not exist.
use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("out of stock")]
struct OutOfStock;

#[derive(Debug, Clone)]
struct Order {
    id: u32,
}

#[derive(Debug)]
struct Shop {
    name: String,
}

#[workflow(context = Shpo)]
enum Checkout {
    #[start]
    #[task(reserve, next = Done)]
    Reserve(Order),

    #[succeed]
    Done(String),
}

async fn reserve(cx: Ctx<'_, Shop>, order: Order) -> Result<String, OutOfStock> {
    Ok(format!("order {} at {}", order.id, cx.context().name))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let shop = Shop { name: "corner".to_owned() };
    let receipt: String = Checkout::run(&shop, Order { id: 7 }).await.unwrap();
    println!("{receipt}");
}
