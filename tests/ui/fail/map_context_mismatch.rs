use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

struct Shop;
struct Bank;

#[workflow(context = Shop)]
enum Order {
    #[start]
    #[map(Count, items = items_of, next = Done)]
    Spread(Vec<u32>),

    #[succeed]
    Done(Vec<u32>),
}

#[workflow(context = Bank)]
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

async fn count(_cx: Ctx<'_, Bank>, n: u32) -> Result<u32, Oops> {
    Ok(n)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    match Order::run(&Shop, vec![1]).await {
        Ok(counts) => assert_eq!(counts, vec![1u32]),
        Err(e) => panic!("{e}"),
    }
}
