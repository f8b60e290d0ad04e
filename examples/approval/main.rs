//! A document-approval service on axum, with its reviews durable in a
//! SQLite file: submit documents, list the approvals a person must give,
//! approve or reject them, and read each review by the name it was
//! submitted under. Stop it (Ctrl-C) and start it again: pending approvals
//! and cooling-off waits carry on where they were.
//!
//! ```text
//! cargo run --example approval -- approval.db 127.0.0.1:3000
//! curl -X PUT localhost:3000/documents/spec-7 -H 'content-type: application/json' \
//!      -d '{"title":"Spec","pages":42,"author":"ada"}'
//! curl localhost:3000/approvals
//! curl -X POST localhost:3000/approvals/<token> -H 'content-type: application/json' \
//!      -d '{"approved":true,"by":"grace"}'
//! curl localhost:3000/documents/spec-7/outcome
//! ```
//!
//! The API is described in `service.rs`.

mod service;

use std::error::Error;
use std::path::PathBuf;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().unwrap_or_else(|| "approval.db".into()));
    let address = args.next().unwrap_or_else(|| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!(
        "reviews in {}; listening on http://{}",
        path.display(),
        listener.local_addr()?
    );
    let engine = service::engine(&path, service::Office::default())?;
    service::serve(
        engine,
        listener,
        service::stop_signal(),
        Duration::from_secs(10),
    )
    .await?;
    println!("stopped; pending reviews wait in {}", path.display());
    Ok(())
}
