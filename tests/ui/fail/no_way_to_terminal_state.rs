use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("oops")]
struct Oops;

#[workflow]
enum Order {
    #[start]
    #[choice(route, next = [Done, Poll])]
    Route(u32),

    #[task(poll, next = Sleep)]
    Poll(u32),

    #[wait(seconds = 60, next = Poll)]
    Sleep(u32),

    #[succeed]
    Done(u32),
}

fn route(n: u32) -> order::Route {
    if n == 0 { order::Route::Done(n) } else { order::Route::Poll(n) }
}

async fn poll(_cx: Ctx<'_, ()>, n: u32) -> Result<u32, Oops> {
    Ok(n)
}

fn main() {}
