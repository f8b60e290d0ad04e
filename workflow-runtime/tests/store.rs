//! The store contract on the in-memory and SQLite stores, and what only
//! the SQLite file can show (reopening, corruption, migrations, locks).

#[macro_use]
mod contract;

use std::time::Duration;

use contract::*;
use workflow_runtime::Status;
use workflow_runtime::store::{Filter, MemoryStore, SqliteStore, Store, StoreError};

suite!(memory, Some(MemoryStore::new()));
suite!(
    sqlite,
    Some(SqliteStore::in_memory().expect("an in-memory database"))
);

mod sqlite_file {
    use super::*;

    #[tokio::test]
    async fn what_was_committed_is_there_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wf.db");
        {
            let store = SqliteStore::open(&path).unwrap();
            let fence = create(&store, "e1", "order-1").await;
            store
                .commit(transition(
                    "e1",
                    fence,
                    events(1, 2),
                    checkpoint("a", Status::Running, None),
                ))
                .await
                .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.history("e1").await.unwrap(), events(1, 2));
        assert_eq!(
            store.execution("e1").await.unwrap().unwrap().last_event_id,
            2
        );
    }

    #[tokio::test]
    async fn a_corrupt_row_is_a_typed_error_and_the_others_still_serve() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wf.db");
        let store = SqliteStore::open(&path).unwrap();
        create(&store, "good", "good").await;
        create(&store, "bad", "bad").await;
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute(
            "UPDATE executions SET status = 'Sleeping' WHERE id = 'bad'",
            [],
        )
        .unwrap();
        raw.execute(
            "UPDATE executions SET retries = 'not json' WHERE id = 'good'",
            [],
        )
        .unwrap();
        raw.execute(
            "INSERT INTO events VALUES ('good', 1, 0, 0, 'NoSuchEvent', NULL, NULL)",
            [],
        )
        .unwrap();
        drop(raw);
        let bad = store.execution("bad").await;
        assert!(
            matches!(&bad, Err(StoreError::Corrupt { execution, what: "status", .. }) if execution == "bad"),
            "{bad:?}"
        );
        let good = store.execution("good").await;
        assert!(
            matches!(
                good,
                Err(StoreError::Corrupt {
                    what: "retry counters",
                    ..
                })
            ),
            "{good:?}"
        );
        let history = store.history("good").await;
        assert!(
            matches!(
                history,
                Err(StoreError::Corrupt {
                    what: "history",
                    ..
                })
            ),
            "{history:?}"
        );
        // The store keeps serving: a new execution works.
        create(&store, "fresh", "fresh").await;
        assert!(store.execution("fresh").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_corrupt_row_is_left_out_of_lists_and_claims() {
        // A value that is no JSON, one of the wrong type, an unknown name.
        for (corruption, what) in [
            ("retries = 'not json'", "retry counters"),
            ("attempt = 'one'", "attempt"),
            ("status = 'Sleeping'", "status"),
            ("started_at = 'yesterday'", "start time"),
            ("callback = '{\"timeout_at\": -1}'", "parked callback"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("wf.db");
            let store = SqliteStore::open(&path).unwrap();
            three_executions(&store).await;
            let raw = rusqlite::Connection::open(&path).unwrap();
            raw.execute(
                &format!("UPDATE executions SET {corruption} WHERE id = 'bad'"),
                [],
            )
            .unwrap();
            drop(raw);
            a_corrupt_row_is_left_out_and_the_others_serve(&store, what).await;
        }
    }

    #[tokio::test]
    async fn an_older_schema_is_migrated_and_keeps_its_executions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wf.db");
        let store = SqliteStore::open(&path).unwrap();
        create(&store, "e1", "order-1").await;
        drop(store);
        // Back to schema 2, as a database written before definitions were
        // kept, before the claim index, callback secrets, finished children,
        // the index of ended executions, workflow paths and parked
        // callbacks.
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch(
            "DROP TABLE definitions; DROP INDEX executions_claimable; DROP TABLE children; \
             DROP INDEX executions_ended; \
             CREATE INDEX executions_due ON executions (status, wake_at); \
             DROP TABLE awaited_callbacks; \
             ALTER TABLE executions DROP COLUMN callback_secret; \
             ALTER TABLE executions DROP COLUMN workflow_path; \
             ALTER TABLE executions DROP COLUMN callback; \
             PRAGMA user_version = 2;",
        )
        .unwrap();
        drop(raw);
        let store = SqliteStore::open(&path).unwrap();
        let e1 = store.execution("e1").await.unwrap().unwrap();
        // Stored before paths were: recovery finds its workflow by name.
        assert_eq!(e1.path, None);
        assert_eq!(e1.checkpoint.callback, None);
        // A secret of its own, so its tokens can be made and checked.
        assert_eq!(e1.callback_secret.len(), 64, "{}", e1.callback_secret);
        assert!(e1.callback_secret.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(e1.callback_secret, "0".repeat(64));
        let raw = rusqlite::Connection::open(&path).unwrap();
        let indexes: Vec<String> = raw
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'executions_%'",
            )
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            indexes.contains(&"executions_claimable".to_owned()),
            "{indexes:?}"
        );
        assert!(
            !indexes.contains(&"executions_due".to_owned()),
            "{indexes:?}"
        );
        assert!(
            indexes.contains(&"executions_ended".to_owned()),
            "{indexes:?}"
        );
        definitions_are_kept_once_per_version_in_order(&store).await;
        assert_eq!(store.children("e1", 0, 1).await.unwrap(), []);
    }

    #[tokio::test]
    async fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wf.db");
        drop(SqliteStore::open(&path).unwrap());
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.pragma_update(None, "user_version", 99).unwrap();
        drop(raw);
        assert_eq!(
            SqliteStore::open(&path).err(),
            Some(StoreError::NewerSchema {
                found: 99,
                supported: 9
            })
        );
    }

    #[tokio::test]
    async fn a_file_that_is_not_a_database_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wf.db");
        std::fs::write(&path, [b'x'; 4096]).unwrap();
        let error = SqliteStore::open(&path).err();
        assert!(matches!(error, Some(StoreError::Database(_))), "{error:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_concurrent_commits_are_grouped_and_all_land() {
        let store = std::sync::Arc::new(SqliteStore::in_memory().unwrap());
        let mut tasks = Vec::new();
        for i in 0..200 {
            let store = std::sync::Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let id = format!("e{i}");
                let fence = create(&*store, &id, &id).await;
                for step in 0..10 {
                    store
                        .commit(transition(
                            &id,
                            fence,
                            events(step + 1, 1),
                            checkpoint(&format!("s{step}"), Status::Running, None),
                        ))
                        .await
                        .unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let all = store.list(Filter::default()).await.unwrap();
        assert_eq!(all.len(), 200);
        assert!(
            all.iter()
                .all(|e| e.last_event_id == 10 && e.checkpoint.state == r#""s9""#)
        );
    }
}

mod sqlite_limits {
    use super::*;

    #[tokio::test]
    async fn a_database_locked_by_another_process_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wf.db");
        let store = SqliteStore::open(&path).unwrap();
        create(&store, "e1", "order-1").await;
        store
            .set_busy_timeout(Duration::from_millis(50))
            .await
            .unwrap();
        // Another process takes the write lock and keeps it.
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let locked = store
            .create(new("e2", "order-2", "Order"), "w1", at(30))
            .await;
        assert!(matches!(locked, Err(StoreError::Locked(_))), "{locked:?}");
        other.execute_batch("ROLLBACK").unwrap();
        // Once the lock is gone, the store serves again.
        create(&store, "e2", "order-2").await;
        assert!(store.execution("e1").await.unwrap().is_some());
    }

    #[tokio::test]
    async fn a_full_database_is_a_typed_error_and_loses_nothing_committed() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("wf.db")).unwrap();
        let fence = create(&store, "e1", "order-1").await;
        store.set_max_size(64 * 1024).await.unwrap();
        let mut written = 0;
        let full = loop {
            let mut big = checkpoint("x", Status::Running, None);
            big.state = "y".repeat(4096);
            let events = events(written + 1, 1);
            match store.commit(transition("e1", fence, events, big)).await {
                Ok(()) => written += 1,
                Err(error) => break error,
            }
            assert!(written < 1000, "the size limit never bit");
        };
        assert!(matches!(full, StoreError::Full(_)), "{full:?}");
        // The failed write left nothing half-done; what was committed stays.
        let stored = store.execution("e1").await.unwrap().unwrap();
        assert_eq!(stored.last_event_id, written);
        assert_eq!(store.history("e1").await.unwrap().len() as u64, written);
    }
}

/// An execution's callback secret answers its tasks: `{:?}` of an
/// execution, as a log would print it, leaves it out.
#[tokio::test]
async fn debug_output_leaves_the_callback_secret_out() {
    let store = MemoryStore::new();
    let execution = new("e1", "order-1", "Order");
    let secret = execution.callback_secret.clone();
    assert!(!format!("{execution:?}").contains(&secret));
    create(&store, "e1", "order-1").await;
    let stored = store.execution("e1").await.unwrap().unwrap();
    assert_eq!(stored.callback_secret, secret);
    let printed = format!("{stored:?}");
    assert!(
        printed.contains("order-1") && !printed.contains(&secret),
        "{printed}"
    );
}
