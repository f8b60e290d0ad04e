use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
enum ShopError {
    #[error("busy")]
    Busy,
}

#[workflow]
enum Order {
    #[start]
    #[task(reserve, next = Done)]
    #[retry(on = [any], max_attempts = 2)]
    #[retry(on = [ShopError::Busy], max_attempts = 5)]
    Reserve(u32),

    #[succeed]
    Done(u32),
}

async fn reserve(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, ShopError> {
    Ok(n)
}

fn main() {}
