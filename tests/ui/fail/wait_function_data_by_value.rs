use std::time::Duration;

use workflow::prelude::*;

struct Shop;

#[workflow(context = Shop)]
enum Order {
    #[start]
    #[wait(delay = pause, next = Done)]
    Hold(u32),

    #[succeed]
    Done(u32),
}

fn pause(_shop: &Shop, n: u32) -> Duration {
    Duration::from_secs(u64::from(n))
}

fn main() {}
