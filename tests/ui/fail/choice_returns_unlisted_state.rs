use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[choice(route, next = [Small, Large])]
    Route(u32),

    #[succeed]
    Small(u32),

    #[pass(next = Other)]
    Large(u32),

    #[succeed]
    Other(u32),
}

fn route(n: u32) -> order::Route {
    if n == 0 { order::Route::Other(n) } else { order::Route::Small(n) }
}

fn main() {}
