use workflow::prelude::*;

struct Shop;
struct Bank;

#[workflow(context = Shop)]
enum Order {
    #[start]
    #[choice(route, next = [Small, Large])]
    Route(u32),

    #[succeed]
    Small(u32),

    #[succeed]
    Large(u32),
}

fn route(_bank: &Bank, n: u32) -> order::Route {
    order::Route::Small(n)
}

fn main() {}
