use workflow::prelude::*;

struct Shop;

#[workflow(context = Shop)]
enum Order {
    #[start]
    #[pass(double, next = Done)]
    Count(u32),

    #[succeed]
    Done(u32),
}

fn double(_shop: &Shop, n: u64) -> u32 {
    n as u32 * 2
}

fn main() {}
