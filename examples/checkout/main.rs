//! The example to run first: an order pipeline that uses every state kind
//! (a task that retries, a catch, a choice, a wait, a map over the order's
//! items, two parallel branches, a pass, succeed and fail), written to an
//! embedded SQLite file. A first engine starts three orders and dies in the
//! middle; a second one opens the same file, recovers, and finishes them.
//! Each order's history is printed as a timeline.
//!
//! ```text
//! cargo run --example checkout                # writes target/checkout.db
//! cargo run --example checkout -- orders.db   # or another file
//! ```
//!
//! The file is made afresh at each run and kept afterwards, so that the
//! `workflow` command can read it; the example ends with the commands to
//! type.

mod shop;

use std::error::Error;
use std::path::{Path, PathBuf};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let path = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("target/checkout.db"),
    };
    reset(&path)?;
    println!("executions are written to {}\n", path.display());
    shop::demo(&path).await?;

    // Relative to where the user is, so the commands can be pasted as
    // they are (the README's, from the repository's root).
    let cwd = std::env::current_dir()?;
    let db = path.strip_prefix(&cwd).unwrap_or(&path).display();
    println!("\nthe store stays in {db}; look at it with the `workflow` command:");
    for command in [
        "list",
        "list --workflow Checkout --status failed",
        "history order-3",
        "diagram --execution order-2",
        "export Checkout",
    ] {
        println!("  cargo run -p workflow-cli -- --db {db} {command}");
    }
    Ok(())
}

/// Deletes the store a previous run left (the database and SQLite's
/// companion files), so that each run tells the same story.
fn reset(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    for suffix in ["", "-wal", "-shm", "-journal", "-engine.lock"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    Ok(())
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[cfg(test)]
#[macro_use]
#[path = "../../tests/support/exports.rs"]
mod exports_check;
#[cfg(test)]
use shop::{Checkout, Email, Invoice, PackItem};
#[cfg(test)]
validate_exports!(Checkout, PackItem, Invoice, Email);
