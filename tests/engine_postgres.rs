//! The engine suite on PostgreSQL (feature `postgres`; `scripts/test` runs
//! it against its throw-away cluster). Each test's store has a schema of its
//! own. The store blocks its caller: on tokio's paused clock, awaiting the
//! network would let virtual time run ahead.

#[path = "../workflow-postgres/tests/support/mod.rs"]
mod postgres_support;

fn store() -> workflow::postgres::PostgresStore {
    postgres_support::blocking_store()
        .expect("the PostgreSQL engine suite needs a database: run scripts/test, or set WORKFLOW_TEST_POSTGRES")
}

/// Fewer than on the embedded stores: every write is a round trip to the
/// server that blocks the test's one thread (about 12 per execution).
const MANY: u64 = 2_000;

include!("engine/suite.rs");
include!("engine/children.rs");
