use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[choice(route, next = [Small, Large])]
    Route(u32),

    #[succeed]
    Small(u32),

    #[succeed]
    Large(u32),
}

fn route(n: u32) -> Order {
    Order::Small(n)
}

fn main() {}
