//! The store contract on PostgreSQL, and what only a shared database shows:
//! migrations under concurrency, schemas side by side, wake-ups across
//! connections, typed errors for bad settings.

#[macro_use]
#[path = "../../workflow-runtime/tests/contract/mod.rs"]
mod contract;
#[path = "store/group_commit.rs"]
mod group_commit;
mod support;

suite!(postgres, support::store().await);
suite!(postgres_blocking, support::blocking_store());

mod shared_database {
    use std::time::Duration;

    use workflow_postgres::PostgresStore;
    use workflow_runtime::store::{Created, Store, StoreError};

    use super::contract::{
        a_corrupt_row_is_left_out_and_the_others_serve, at, create, new, three_executions,
    };
    use super::{back_to_version_1, raw_client, support};

    #[tokio::test]
    async fn ten_workers_starting_at_once_migrate_once() {
        let Some(url) = support::url() else { return };
        let schema = support::fresh_schema();
        let connecting = (0..10).map(|_| {
            let builder = PostgresStore::builder(url.clone())
                .schema(schema.clone())
                .pool_size(1);
            tokio::spawn(builder.connect())
        });
        let mut stores = Vec::new();
        for store in connecting {
            stores.push(store.await.unwrap().expect("every worker connects"));
        }
        let client = raw_client(&url).await;
        let rows = client
            .query(&format!("SELECT version FROM \"{schema}\".migrations"), &[])
            .await
            .unwrap();
        let versions: Vec<i64> = rows.iter().map(|r| i64::from(r.get::<_, i32>(0))).collect();
        assert_eq!(
            versions,
            (1..=PostgresStore::schema_version()).collect::<Vec<_>>()
        );
        // Every one of them works on the one schema.
        create(&stores[3], "e1", "order-1").await;
        assert!(stores[7].execution("e1").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn two_schemas_in_one_database_do_not_see_each_other() {
        let (Some(a), Some(b)) = (support::store().await, support::store().await) else {
            return;
        };
        create(&a, "e1", "order-1").await;
        assert_eq!(b.execution("e1").await.unwrap(), None);
        // The same name is free in the other schema.
        assert!(matches!(
            b.create(new("e1", "order-1", "Order"), "w2", at(30))
                .await
                .unwrap(),
            Created::New { .. }
        ));
    }

    #[tokio::test]
    async fn two_processes_starting_one_name_at_once_get_one_execution() {
        let Some(url) = support::url() else { return };
        let schema = support::fresh_schema();
        let mut stores = Vec::new();
        for _ in 0..2 {
            let store = PostgresStore::builder(url.clone())
                .schema(schema.clone())
                .connect()
                .await
                .unwrap();
            stores.push(std::sync::Arc::new(store));
        }
        for round in 0..20 {
            let name = format!("order-{round}");
            let starts = stores.iter().enumerate().map(|(i, store)| {
                let store = std::sync::Arc::clone(store);
                let execution = new(&format!("e{round}-{i}"), &name, "Order");
                tokio::spawn(async move { store.create(execution, "w", at(30)).await })
            });
            let mut created = 0;
            let mut found = Vec::new();
            for start in starts {
                match start.await.unwrap().unwrap() {
                    Created::New { .. } => created += 1,
                    Created::Existing(existing) => found.push(existing.id),
                }
            }
            assert_eq!(created, 1, "round {round}");
            assert_eq!(found.len(), 1, "round {round}");
            let winner = stores[0]
                .list(Default::default())
                .await
                .unwrap()
                .into_iter()
                .filter(|e| e.name == name)
                .map(|e| e.id)
                .collect::<Vec<_>>();
            assert_eq!(winner, found, "round {round}");
        }
    }

    #[tokio::test]
    async fn a_park_in_one_process_wakes_another() {
        let Some(url) = support::url() else { return };
        let schema = support::fresh_schema();
        let connect = || {
            PostgresStore::builder(url.clone())
                .schema(schema.clone())
                .connect()
        };
        let (writer, listener) = (connect().await.unwrap(), connect().await.unwrap());
        // Let the listener's LISTEN land (its first permit says "look now").
        listener.wake_up().unwrap().await.unwrap();
        let fence = create(&writer, "e1", "order-1").await;
        let woken = listener.wake_up().unwrap();
        writer.release("e1", fence).await.unwrap();
        // No sleep: the wake-up either arrives or the test hangs and fails
        // by the harness's timeout below.
        tokio::time::timeout(Duration::from_secs(30), woken)
            .await
            .expect("the listener is woken")
            .unwrap();
    }

    #[tokio::test]
    async fn bad_settings_are_typed_errors() {
        let Some(url) = support::url() else { return };
        let bad_schema = PostgresStore::builder(url)
            .schema("Robert'); DROP")
            .connect()
            .await;
        assert!(
            matches!(bad_schema, Err(StoreError::Config(_))),
            "{bad_schema:?}"
        );
        let bad_url = PostgresStore::connect("postgres://[not a url").await;
        assert!(matches!(bad_url, Err(StoreError::Config(_))), "{bad_url:?}");
        // A port nothing listens on (the test cluster's, plus one, is free
        // unless another cluster took it; the error is typed either way).
        let nobody =
            PostgresStore::builder("host=127.0.0.1 port=1 user=postgres connect_timeout=5")
                .connect()
                .await;
        assert!(
            matches!(nobody, Err(StoreError::Unavailable(_))),
            "{nobody:?}"
        );
    }

    #[tokio::test]
    async fn a_corrupt_row_is_left_out_of_lists_and_claims() {
        let Some(url) = support::url() else { return };
        // Counts out of range, an unknown name: what the column types let
        // through.
        for (corruption, what) in [
            ("retries = '{-1}'", "retry counters"),
            ("attempt = -1", "attempt"),
            ("status = 'Sleeping'", "status"),
        ] {
            let schema = support::fresh_schema();
            let store = PostgresStore::builder(url.clone())
                .schema(schema.clone())
                .pool_size(4)
                .connect()
                .await
                .unwrap();
            three_executions(&store).await;
            let client = raw_client(&url).await;
            client
                .batch_execute(&format!(
                    "UPDATE {schema}.executions SET {corruption} WHERE id = 'bad'"
                ))
                .await
                .unwrap();
            a_corrupt_row_is_left_out_and_the_others_serve(&store, what).await;
        }
    }

    #[tokio::test]
    async fn a_first_version_schema_is_migrated_and_its_executions_get_secrets() {
        let Some(url) = support::url() else { return };
        let schema = support::fresh_schema();
        let connect = || {
            PostgresStore::builder(url.clone())
                .schema(schema.clone())
                .connect()
        };
        let store = connect().await.unwrap();
        create(&store, "e1", "order-1").await;
        create(&store, "e2", "order-2").await;
        drop(store);
        // Back to version 1, as a schema written before callback secrets.
        let client = raw_client(&url).await;
        client
            .batch_execute(&back_to_version_1(&schema))
            .await
            .unwrap();
        let store = connect().await.unwrap();
        let secret =
            |e: Option<workflow_runtime::store::StoredExecution>| e.unwrap().callback_secret;
        let (s1, s2) = (
            secret(store.execution("e1").await.unwrap()),
            secret(store.execution("e2").await.unwrap()),
        );
        for s in [&s1, &s2] {
            assert_eq!(s.len(), 64, "{s}");
            assert!(s.bytes().all(|b| b.is_ascii_hexdigit()), "{s}");
        }
        assert_ne!(s1, s2, "a secret of its own each");
        // Stored before paths were: recovery finds its workflow by name.
        assert_eq!(store.execution("e1").await.unwrap().unwrap().path, None);
        let query = workflow_runtime::store::PendingQuery {
            limit: 10,
            ..Default::default()
        };
        assert_eq!(store.pending_callbacks(query).await.unwrap(), Vec::new());
    }

    #[tokio::test]
    async fn a_purge_finds_ended_executions_by_the_index_of_stop_times() {
        let Some(url) = support::url() else { return };
        let schema = support::fresh_schema();
        let store = PostgresStore::builder(url.clone())
            .schema(schema.clone())
            .connect()
            .await
            .unwrap();
        drop(store);
        let client = raw_client(&url).await;
        // An empty table reads fastest whole: forbid that, and the plan
        // shows whether an index serves the purge's search at all.
        client
            .batch_execute("SET enable_seqscan = off")
            .await
            .unwrap();
        let plan = client
            .query(
                &format!(
                    "EXPLAIN SELECT id FROM \"{schema}\".executions \
                     WHERE status <> 'Running' AND stopped_at < 0 LIMIT 10 \
                     FOR UPDATE SKIP LOCKED"
                ),
                &[],
            )
            .await
            .unwrap();
        let plan: Vec<String> = plan.iter().map(|row| row.get(0)).collect();
        assert!(
            plan.iter().any(|line| line.contains("executions_ended")),
            "{plan:#?}"
        );
    }

    #[tokio::test]
    async fn a_schema_migrated_by_a_newer_library_is_refused() {
        let Some(url) = support::url() else { return };
        let schema = support::fresh_schema();
        let store = PostgresStore::builder(url.clone())
            .schema(schema.clone())
            .connect()
            .await
            .unwrap();
        drop(store);
        let client = raw_client(&url).await;
        client
            .execute(
                &format!("INSERT INTO \"{schema}\".migrations (version) VALUES (99)"),
                &[],
            )
            .await
            .unwrap();
        let again = PostgresStore::builder(url).schema(schema).connect().await;
        assert_eq!(
            again.err(),
            Some(StoreError::NewerSchema {
                found: 99,
                supported: PostgresStore::schema_version()
            })
        );
    }

    #[tokio::test]
    async fn a_schema_of_version_1_is_migrated_and_keeps_its_executions() {
        let Some(url) = support::url() else { return };
        let schema = support::fresh_schema();
        let store = PostgresStore::builder(url.clone())
            .schema(schema.clone())
            .connect()
            .await
            .unwrap();
        create(&store, "e1", "order-1").await;
        drop(store);
        let client = raw_client(&url).await;
        // Back to version 1, as a schema written before callback secrets
        // and finished children.
        client
            .batch_execute(&back_to_version_1(&schema))
            .await
            .unwrap();
        let store = PostgresStore::builder(url)
            .schema(schema)
            .connect()
            .await
            .unwrap();
        assert!(store.execution("e1").await.unwrap().is_some());
        assert_eq!(store.children("e1", 0, 1).await.unwrap(), []);
    }

    #[tokio::test]
    async fn an_existing_only_store_opens_what_is_there_and_creates_nothing() {
        let Some(url) = support::url() else { return };
        let client = raw_client(&url).await;
        let schema_count = |schema: String| {
            let client = &client;
            async move {
                let row = client
                    .query_one(
                        "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
                        &[&schema],
                    )
                    .await
                    .unwrap();
                row.get::<_, i64>(0)
            }
        };
        let open = |schema: &str| {
            PostgresStore::builder(url.clone())
                .schema(schema)
                .existing_only(true)
                .connect()
        };
        // No such schema: an error, and still no such schema.
        let missing = support::fresh_schema();
        let refused = open(&missing).await;
        assert!(
            matches!(&refused, Err(StoreError::Config(m)) if m.contains("has no schema")),
            "{refused:?}"
        );
        assert_eq!(schema_count(missing).await, 0);
        // A schema that holds something else: an error, and no tables made.
        let other = support::fresh_schema();
        client
            .batch_execute(&format!("CREATE SCHEMA \"{other}\""))
            .await
            .unwrap();
        let refused = open(&other).await;
        assert!(
            matches!(&refused, Err(StoreError::Config(m)) if m.contains("holds no workflow store")),
            "{refused:?}"
        );
        let tables = client
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = $1",
                &[&other],
            )
            .await
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(tables, 0);
        // A store an engine made: it opens, and reads what is there.
        let made = support::fresh_schema();
        let writer = PostgresStore::builder(url.clone())
            .schema(made.clone())
            .connect()
            .await
            .unwrap();
        create(&writer, "e1", "order-1").await;
        let reader = open(&made).await.unwrap();
        assert!(reader.execution("e1").await.unwrap().is_some());
        let blocking = PostgresStore::builder(url.clone())
            .schema(support::fresh_schema())
            .existing_only(true)
            .connect_blocking();
        assert!(
            matches!(blocking, Err(StoreError::Config(_))),
            "{blocking:?}"
        );
    }
}

/// Undoes every migration after the first: a schema as version 1 wrote it.
fn back_to_version_1(schema: &str) -> String {
    format!(
        "DROP INDEX \"{schema}\".executions_unowned; \
         DROP INDEX \"{schema}\".executions_leases; \
         CREATE INDEX executions_claimable ON \"{schema}\".executions (wake_at NULLS FIRST) \
             WHERE status = 'Running'; \
         DROP INDEX \"{schema}\".executions_ended; \
         DROP TABLE \"{schema}\".children; \
         DROP TABLE \"{schema}\".awaited_callbacks; \
         ALTER TABLE \"{schema}\".executions DROP COLUMN callback_secret; \
         ALTER TABLE \"{schema}\".executions DROP COLUMN workflow_path; \
         ALTER TABLE \"{schema}\".executions DROP COLUMN callback; \
         DELETE FROM \"{schema}\".migrations WHERE version > 1"
    )
}

/// A plain connection to the test database, beside the store, for what a
/// test does to the schema behind the store's back.
async fn raw_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}
