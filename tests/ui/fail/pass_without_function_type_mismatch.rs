use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[pass(next = Done)]
    Count(u32),

    #[succeed]
    Done(String),
}

fn main() {}
