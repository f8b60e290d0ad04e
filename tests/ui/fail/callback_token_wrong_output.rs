// A typed callback token takes only its task's output type.
use workflow::prelude::*;
use workflow::CallbackToken;

type ApprovalToken = CallbackToken<u64>;

async fn approve(engine: &Engine<()>, token: ApprovalToken) {
    let _ = engine.complete_typed(&token, &"forty-one").await;
}

fn main() {}
