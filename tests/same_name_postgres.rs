//! Workflows of one name in two modules (`same_name/suite.rs`) on
//! PostgreSQL (feature `postgres`; `scripts/test` runs it against its
//! throw-away cluster): a schema of its own per test, that a second store
//! connects to as another process would. The stores block their caller: on
//! tokio's paused clock, awaiting the network would let virtual time run
//! ahead.

#[path = "../workflow-postgres/tests/support/mod.rs"]
mod postgres_support;

use workflow::postgres::PostgresStore;

/// A schema of the test database.
struct Place {
    url: String,
    schema: String,
}

fn place() -> Place {
    Place {
        url: postgres_support::url().expect(
            "the PostgreSQL tests need a database: run scripts/test, or set WORKFLOW_TEST_POSTGRES",
        ),
        schema: postgres_support::fresh_schema(),
    }
}

fn open(place: &Place) -> PostgresStore {
    PostgresStore::builder(place.url.clone())
        .schema(place.schema.clone())
        .pool_size(2)
        .connect_blocking()
        .expect("the test database")
}

/// Clears every execution's path, behind the store's back: a plain
/// connection beside the store, on a thread and runtime of its own (the
/// test's clock is paused; and `postgres_support`, which the CLI's tests
/// include too, cannot name a PostgreSQL client).
fn forget_paths(place: &Place) {
    let (url, schema) = (place.url.clone(), place.schema.clone());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (raw, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            raw.batch_execute(&format!(
                "UPDATE \"{schema}\".executions SET workflow_path = NULL"
            ))
            .await
            .unwrap();
        });
    })
    .join()
    .unwrap();
}

include!("same_name/suite.rs");
