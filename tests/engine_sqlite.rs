//! The engine suite on SQLite, opened as in production (a database thread
//! with group commit): the suite's paused-clock timings hold on it.

fn store() -> workflow::store::SqliteStore {
    workflow::store::SqliteStore::in_memory().expect("an in-memory database")
}

const MANY: u64 = 10_000;

include!("engine/suite.rs");
include!("engine/children.rs");
