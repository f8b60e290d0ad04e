use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

#[workflow]
enum Order {
    #[start]
    #[parallel(branches = [Count, Shout], next = Done)]
    Fan(u32),

    #[succeed]
    Done((u32, String)),
}

#[workflow]
enum Count {
    #[start]
    #[task(count, next = Counted)]
    Counting(u32),
    #[succeed]
    Counted(u32),
}

#[workflow]
enum Shout {
    #[start]
    #[task(shout, next = Shouted)]
    Shouting(String),
    #[succeed]
    Shouted(String),
}

async fn count(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, Oops> {
    Ok(n)
}

async fn shout(_cx: Ctx<'_, ()>, s: String) -> Result<String, Oops> {
    Ok(s)
}

fn main() {}
