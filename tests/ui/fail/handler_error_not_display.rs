use workflow::prelude::*;

#[derive(Debug)]
struct Plain;

#[workflow]
enum Order {
    #[start]
    #[task(reserve, next = Done)]
    Reserve(u32),

    #[succeed]
    Done(u32),
}

async fn reserve(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, Plain> {
    Ok(n)
}

fn main() {}
