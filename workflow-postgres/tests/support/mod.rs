//! The test database: `scripts/test` starts a throw-away PostgreSQL cluster
//! and names it in `WORKFLOW_TEST_POSTGRES`. Each store gets a schema of its
//! own, so tests running at once do not see each other's executions.

#![allow(dead_code)]

use workflow_postgres::{PostgresStore, PostgresStoreBuilder};

/// The database's URL. Without one the test is skipped with a note, unless
/// `WORKFLOW_REQUIRE_POSTGRES` is set (as `scripts/test` sets it): then a
/// missing database fails the run.
pub fn url() -> Option<String> {
    match std::env::var("WORKFLOW_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("WORKFLOW_REQUIRE_POSTGRES").is_some() => {
            panic!("WORKFLOW_REQUIRE_POSTGRES is set but WORKFLOW_TEST_POSTGRES names no database")
        }
        _ => {
            eprintln!("skipped: no PostgreSQL (run scripts/test, or set WORKFLOW_TEST_POSTGRES)");
            None
        }
    }
}

/// A schema name no other test uses.
pub fn fresh_schema() -> String {
    format!("test_{}_{:016x}", std::process::id(), fastrand::u64(..))
}

/// A builder for a store in a fresh schema of the test database.
pub fn builder() -> Option<PostgresStoreBuilder> {
    Some(
        PostgresStore::builder(url()?)
            .schema(fresh_schema())
            .pool_size(4),
    )
}

/// A store in a fresh schema, on the caller's runtime.
pub async fn store() -> Option<PostgresStore> {
    Some(builder()?.connect().await.expect("the test database"))
}

/// A store in a fresh schema that blocks its caller (for tests on tokio's
/// paused clock).
pub fn blocking_store() -> Option<PostgresStore> {
    Some(builder()?.connect_blocking().expect("the test database"))
}
