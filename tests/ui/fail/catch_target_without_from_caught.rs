use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

#[derive(Debug)]
struct Reason(String);

#[workflow]
enum Order {
    #[start]
    #[task(reserve, next = Done)]
    #[catch(on = [any], next = Cancelled)]
    Reserve(u32),

    #[succeed]
    Done(u32),

    #[fail(error = "Cancelled")]
    Cancelled(Reason),
}

async fn reserve(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, Oops> {
    Ok(n)
}

fn main() {}
