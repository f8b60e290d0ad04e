use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[choice(route, next = [Small, Lareg])]
    Route(u32),

    #[succeed]
    Small(u32),

    #[succeed]
    Large(u32),
}

fn route(n: u32) -> order::Route {
    order::Route::Small(n)
}

fn main() {}
