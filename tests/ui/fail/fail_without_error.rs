use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[fail]
    Cancelled(u32),
}

fn main() {}
