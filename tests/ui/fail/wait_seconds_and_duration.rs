use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[wait(seconds = 10, duration = "10s", next = Done)]
    Hold(u32),

    #[succeed]
    Done(u32),
}

fn main() {}
