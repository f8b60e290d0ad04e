use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[choice(route, next = [Done, Ping])]
    Route(u32),

    #[pass(next = Pong)]
    Ping(u32),

    #[pass(next = Ping)]
    Pong(u32),

    #[succeed]
    Done(u32),
}

fn route(n: u32) -> order::Route {
    if n == 0 { order::Route::Done(n) } else { order::Route::Ping(n) }
}

fn main() {}
