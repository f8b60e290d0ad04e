//! `Self` in a state's data names the workflow enum, as it does anywhere in
//! an enum's declaration: a state may hold a checkpoint of the workflow.

#![deny(warnings)]

use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("never")]
pub struct Never;

#[workflow]
#[derive(Debug)]
pub enum Nested {
    #[start]
    #[task(count, next = Decide)]
    Begin(Vec<Box<Self>>),

    #[choice(decide, next = [Done, Again])]
    Decide((usize, Option<Box<Self>>)),

    #[pass(restart, next = Decide)]
    Again((usize, Option<Box<Self>>)),

    #[succeed]
    Done(usize),
}

async fn count(_cx: Ctx<'_, ()>, held: Vec<Box<Nested>>) -> Result<(usize, Option<Box<Nested>>), Never> {
    Ok((held.len(), None))
}

fn decide(data: (usize, Option<Box<Nested>>)) -> nested::Decide {
    if data.0 >= 3 {
        nested::Decide::Done(data.0)
    } else {
        nested::Decide::Again(data)
    }
}

fn restart(data: (usize, Option<Box<Nested>>)) -> (usize, Option<Box<Nested>>) {
    (data.0 + 1, data.1)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let held = vec![Box::new(Nested::Done(1))];
    let n = Nested::run(&(), held).await.unwrap();
    assert_eq!(n, 3);
}
