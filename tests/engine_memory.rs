//! The engine suite on the in-memory store.

fn store() -> workflow::store::MemoryStore {
    workflow::store::MemoryStore::new()
}

const MANY: u64 = 10_000;

include!("engine/suite.rs");
include!("engine/children.rs");

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;
validate_exports!(
    Order,
    Slow,
    Blow,
    Ten,
    FailsAfterOne,
    TakesTen,
    Fork,
    Fan,
    Timed,
    Bounded,
    Panicky,
    Jittery,
    Pay,
    Wide
);
