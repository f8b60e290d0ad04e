use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

#[workflow]
enum Order {
    #[start]
    #[parallel(branches = [Count, Count], next = Done)]
    Fan(u32),

    #[succeed]
    Done(Vec<u32>),
}

#[workflow]
enum Count {
    #[start]
    #[task(count, next = Counted)]
    Counting(u32),
    #[succeed]
    Counted(u32),
}

async fn count(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, Oops> {
    Ok(n)
}

fn main() {}
