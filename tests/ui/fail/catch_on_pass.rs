use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[pass(next = Done)]
    #[catch(on = [any], next = Cancelled)]
    Reserve(u32),

    #[succeed]
    Done(u32),

    #[fail(error = "Cancelled")]
    Cancelled(u32),
}

fn main() {}
