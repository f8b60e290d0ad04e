use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

struct Cart(u32);

#[workflow]
enum Order {
    #[start]
    #[task(reserve, next = Done)]
    #[retry(on = [any])]
    Reserve(Cart),

    #[succeed]
    Done(u32),
}

async fn reserve(_cx: Ctx<'_, ()>, cart: Cart) -> Result<u32, Oops> {
    Ok(cart.0)
}

fn main() {}
