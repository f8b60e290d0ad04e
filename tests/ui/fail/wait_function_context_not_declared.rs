use workflow::prelude::*;

struct Shop;

#[workflow]
enum Order {
    #[start]
    #[wait(until = opens, next = Done)]
    Hold(u32),

    #[succeed]
    Done(u32),
}

fn opens(_shop: &Shop, _n: &u32) -> std::time::SystemTime {
    std::time::SystemTime::UNIX_EPOCH
}

fn main() {}
