use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

struct Shop;
struct Bank;

#[workflow(context = Shop)]
enum Order {
    #[start]
    #[parallel(branches = [Count], next = Done)]
    Fan(u32),

    #[succeed]
    Done((u32,)),
}

#[workflow(context = Bank)]
enum Count {
    #[start]
    #[task(count, next = Counted)]
    Counting(u32),
    #[succeed]
    Counted(u32),
}

async fn count(_cx: Ctx<'_, Bank>, n: u32) -> Result<u32, Oops> {
    Ok(n)
}

fn main() {}
