use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[choice(route, next = [Done, Done])]
    Route(u32),

    #[succeed]
    Done(u32),
}

fn route(n: u32) -> order::Route {
    order::Route::Done(n)
}

fn main() {}
