use workflow::prelude::*;

#[workflow]
struct Order {
    amount: u32,
}

fn main() {}
