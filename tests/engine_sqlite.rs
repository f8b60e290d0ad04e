//! The engine suite on SQLite. The store runs inline: on tokio's paused
//! clock, a write on the database thread would let virtual time run ahead.

fn store() -> workflow::store::SqliteStore {
    workflow::store::SqliteStore::open_inline(":memory:").expect("an in-memory database")
}

const MANY: u64 = 10_000;

include!("engine/suite.rs");
include!("engine/children.rs");
