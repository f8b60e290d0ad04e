use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[wait(until = deadline, next = Done)]
    Hold(u32),

    #[succeed]
    Done(u32),
}

fn deadline(n: &u32) -> u64 {
    u64::from(*n)
}

fn main() {}
