use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[task(reserve, next = Done)]
    Reserve(u32),

    #[succeed]
    Done(u32),
}

async fn reserve(_cx: Ctx<'_, ()>, n: u32) -> u32 {
    n
}

fn main() {}
