use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

#[workflow]
enum Order {
    #[start]
    #[task(reserve, next = Done)]
    #[retry(on = [task_failed], backoff = 0.5)]
    Reserve(u32),

    #[succeed]
    Done(u32),
}

async fn reserve(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, Oops> {
    Ok(n)
}

fn main() {}
