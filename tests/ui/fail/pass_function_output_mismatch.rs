use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[pass(describe, next = Done)]
    Count(u32),

    #[succeed]
    Done(u32),
}

fn describe(n: u32) -> String {
    n.to_string()
}

fn main() {}
