use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

#[workflow]
enum Order {
    #[start]
    #[map(Count, items = items_of, tolerated_failure_percentage = 150, next = Done)]
    Spread(Vec<u32>),

    #[succeed]
    Done(Vec<Result<u32, ExecutionError>>),
}

#[workflow]
enum Count {
    #[start]
    #[task(count, next = Counted)]
    Counting(u32),
    #[succeed]
    Counted(u32),
}

fn items_of(items: &Vec<u32>) -> Vec<u32> {
    items.clone()
}

async fn count(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, Oops> {
    Ok(n)
}

fn main() {}
