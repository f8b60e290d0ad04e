use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

#[workflow]
enum Order {
    #[start]
    #[task(reserve, next = Done)]
    #[catch(on = [any], next = Cancelld)]
    Reserve(u32),

    #[succeed]
    Done(u32),

    #[fail(error = "Cancelled")]
    Cancelled(Caught<u32, Oops>),
}

async fn reserve(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, Oops> {
    Ok(n)
}

fn main() {}
