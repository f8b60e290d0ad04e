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
    #[retry(on = [ShopError::Bussy])]
    Reserve(u32),

    #[succeed]
    Done(u32),
}

async fn reserve(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, ShopError> {
    Ok(n)
}

fn main() {}
