use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[task(next = Done)]
    Reserve(u32),

    #[succeed]
    Done(u32),
}

fn main() {}
