//! The smallest workflow: one task that ends, with its output named.

#![deny(warnings)]

use workflow::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

#[workflow(output = String)]
pub enum Hello {
    #[start]
    #[task(hello, end)]
    Greet(String),
}

async fn hello(_cx: Ctx<'_, ()>, name: String) -> Result<String, Never> {
    Ok(format!("hello, {name}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let out = Hello::run(&(), "ferris".to_owned()).await.unwrap();
    assert_eq!(out, "hello, ferris");
}
