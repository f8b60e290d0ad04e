use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

#[workflow]
enum Order {
    #[start]
    #[map(Count, items = items_of, next = Done)]
    Spread(Vec<String>),

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

fn items_of(items: &Vec<String>) -> Vec<String> {
    items.clone()
}

async fn count(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, Oops> {
    Ok(n)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    match Order::run(&(), vec!["one".to_owned()]).await {
        Ok(counts) => assert_eq!(counts, vec![1u32]),
        Err(e) => panic!("{e}"),
    }
}
