use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

#[workflow]
enum Order {
    #[start]
    #[choice(route, next = [Reserve, Done])]
    Route(u32),

    #[task(reserve, end)]
    Reserve(u32),

    #[succeed]
    Done(u32),
}

fn route(n: u32) -> order::Route {
    if n == 0 { order::Route::Done(n) } else { order::Route::Reserve(n) }
}

async fn reserve(_cx: Ctx<'_, ()>, n: u32) -> Result<String, Oops> {
    Ok(n.to_string())
}

fn main() {}
