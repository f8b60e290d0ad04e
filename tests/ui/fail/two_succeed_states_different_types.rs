use workflow::prelude::*;

#[workflow]
enum Order {
    #[start]
    #[choice(route, next = [Counted, Named])]
    Route(u32),

    #[succeed]
    Counted(u32),

    #[succeed]
    Named(String),
}

fn route(n: u32) -> order::Route {
    if n == 0 { order::Route::Named(String::new()) } else { order::Route::Counted(n) }
}

fn main() {}
