use workflow::prelude::*;

struct Invoice;

#[workflow]
enum Order {
    #[start]
    #[parallel(branches = [Invoice], next = Done)]
    Fan(u32),

    #[succeed]
    Done((u32,)),
}

fn main() {}
