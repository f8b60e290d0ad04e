//! The engine suite on the in-memory store.

fn store() -> workflow::store::MemoryStore {
    workflow::store::MemoryStore::new()
}

include!("engine/suite.rs");
