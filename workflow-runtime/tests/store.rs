//! One behavioural suite, run against every store.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use workflow_runtime::store::{
    Checkpoint, Claim, Created, Filter, MemoryStore, NewExecution, SqliteStore, Store, StoreError,
    StoredExecution, Transition,
};
use workflow_runtime::{ErrorInfo, Event, EventKind, Status};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn checkpoint(state: &str, status: Status, wake_at: Option<SystemTime>) -> Checkpoint {
    Checkpoint {
        state: state.to_owned(),
        state_name: format!("{state}-name"),
        entry: 0,
        attempt: 1,
        retries: vec![0, 2],
        waiting: None,
        wake_at,
        status,
        output: None,
        error: None,
    }
}

fn new(id: &str, name: &str, workflow: &str) -> NewExecution {
    NewExecution {
        id: id.to_owned(),
        name: name.to_owned(),
        workflow: workflow.to_owned(),
        version: "v1".to_owned(),
        input: r#"{"n":1}"#.to_owned(),
        checkpoint: checkpoint(r#"{"Start":1}"#, Status::Running, None),
        started_at: at(0),
    }
}

fn events(from: u64, count: u64) -> Vec<Event> {
    (from..from + count)
        .map(|id| Event {
            id,
            previous_event_id: id - 1,
            timestamp: at(id),
            kind: if id == 1 {
                EventKind::ExecutionStarted
            } else {
                EventKind::TaskScheduled
            },
            state: (id > 1).then(|| "Start".into()),
            data: Some(format!("{id}")),
        })
        .collect()
}

fn transition(id: &str, fence: u64, events: Vec<Event>, checkpoint: Checkpoint) -> Transition {
    Transition {
        execution: id.to_owned(),
        fence,
        checkpoint,
        events,
        stopped_at: None,
    }
}

fn claim(owner: &str, now: SystemTime, take_over: bool) -> Claim {
    Claim {
        owner: owner.to_owned(),
        lease_until: now + Duration::from_secs(30),
        due_by: now,
        leases_expired_by: if take_over { at(1_000_000) } else { now },
        limit: 100,
    }
}

async fn create(store: &dyn Store, id: &str, name: &str) -> u64 {
    match store
        .create(new(id, name, "Order"), "w1", at(30))
        .await
        .unwrap()
    {
        Created::New { fence } => fence,
        Created::Existing(e) => panic!("{} exists", e.name),
    }
}

fn ids(list: Vec<StoredExecution>) -> Vec<String> {
    list.into_iter().map(|e| e.id).collect()
}

/// The ids in a claim, whose order is the store's choice.
fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

async fn creates_and_reads_back(store: &dyn Store) {
    create(store, "e1", "order-1").await;
    let stored = store.execution("e1").await.unwrap().unwrap();
    assert_eq!(stored.name, "order-1");
    assert_eq!(stored.workflow, "Order");
    assert_eq!(stored.version, "v1");
    assert_eq!(stored.input, r#"{"n":1}"#);
    assert_eq!(
        stored.checkpoint,
        checkpoint(r#"{"Start":1}"#, Status::Running, None)
    );
    assert_eq!(stored.started_at, at(0));
    assert_eq!((stored.last_event_id, stored.stopped_at), (0, None));
    assert_eq!(store.execution("nope").await.unwrap(), None);
}

async fn a_taken_name_returns_the_existing_execution(store: &dyn Store) {
    create(store, "e1", "order-1").await;
    let mut again = new("e2", "order-1", "Order");
    again.input = "other".to_owned();
    match store.create(again, "w2", at(30)).await.unwrap() {
        Created::Existing(existing) => {
            assert_eq!(existing.id, "e1");
            assert_eq!(existing.input, r#"{"n":1}"#);
        }
        Created::New { .. } => panic!("created twice"),
    }
    assert_eq!(store.execution("e2").await.unwrap(), None);
}

async fn a_commit_writes_checkpoint_and_events_together(store: &dyn Store) {
    let fence = create(store, "e1", "order-1").await;
    let mut next = checkpoint(r#"{"Next":2}"#, Status::Running, Some(at(50)));
    next.entry = 1;
    next.waiting = Some("Hold".to_owned());
    store
        .commit(transition("e1", fence, events(1, 3), next.clone()))
        .await
        .unwrap();
    assert_eq!(
        store.execution("e1").await.unwrap().unwrap().checkpoint,
        next
    );
    let mut done = checkpoint(r#"{"Done":3}"#, Status::Succeeded, None);
    done.output = Some("3".to_owned());
    let mut last = transition("e1", fence, events(4, 1), done.clone());
    last.stopped_at = Some(at(60));
    store.commit(last).await.unwrap();
    let stored = store.execution("e1").await.unwrap().unwrap();
    assert_eq!(stored.checkpoint, done);
    assert_eq!((stored.last_event_id, stored.stopped_at), (4, Some(at(60))));
    assert_eq!(store.history("e1").await.unwrap(), events(1, 4));
}

async fn a_stale_fence_writes_nothing(store: &dyn Store) {
    let fence = create(store, "e1", "order-1").await;
    let running = |state| checkpoint(state, Status::Running, None);
    store
        .commit(transition("e1", fence, events(1, 1), running("a")))
        .await
        .unwrap();
    // Another worker takes the execution over.
    let taken = store.claim(claim("w2", at(100), true)).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].fence, fence + 1);
    let stale = store
        .commit(transition("e1", fence, events(2, 1), running("b")))
        .await;
    assert_eq!(
        stale,
        Err(StoreError::Fenced {
            execution: "e1".into(),
            held: fence
        })
    );
    let stored = store.execution("e1").await.unwrap().unwrap();
    assert_eq!(
        (stored.checkpoint.state.as_str(), stored.last_event_id),
        ("a", 1)
    );
    assert_eq!(store.history("e1").await.unwrap().len(), 1);
    store
        .commit(transition("e1", fence + 1, events(2, 1), running("b")))
        .await
        .unwrap();
}

async fn events_must_follow_the_history(store: &dyn Store) {
    let fence = create(store, "e1", "order-1").await;
    let gap = store
        .commit(transition(
            "e1",
            fence,
            events(2, 1),
            checkpoint("a", Status::Running, None),
        ))
        .await;
    assert!(
        matches!(
            gap,
            Err(StoreError::Corrupt {
                what: "history",
                ..
            })
        ),
        "{gap:?}"
    );
    assert_eq!(store.history("e1").await.unwrap(), []);
    let stored = store.execution("e1").await.unwrap().unwrap();
    assert_eq!(stored.checkpoint.state, r#"{"Start":1}"#);
}

async fn claims_take_due_unleased_running_executions(store: &dyn Store) {
    let now = at(100);
    for (id, wake) in [
        ("soon", Some(at(90))),
        ("later", Some(at(500))),
        ("now", None),
    ] {
        let fence = create(store, id, id).await;
        store
            .commit(transition(
                id,
                fence,
                vec![],
                checkpoint(id, Status::Running, wake),
            ))
            .await
            .unwrap();
    }
    let fence = create(store, "ended", "ended").await;
    store
        .commit(transition(
            "ended",
            fence,
            vec![],
            checkpoint("x", Status::Succeeded, None),
        ))
        .await
        .unwrap();
    // Leases from creation hold until at(30): expired by now.
    let claimed = store.claim(claim("w2", now, false)).await.unwrap();
    assert!(claimed.iter().all(|e| e.fence == 2));
    assert_eq!(sorted(ids(claimed)), ["now", "soon"]);
    // Claimed executions are leased: a second claim finds nothing.
    assert_eq!(store.claim(claim("w3", now, false)).await.unwrap(), []);
    // Released, an execution can be claimed again, with a new fence.
    store.release("soon", 2).await.unwrap();
    let again = store.claim(claim("w3", now, false)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id.as_str(), again[0].fence), ("soon", 3));
    assert_eq!(
        store.release("soon", 2).await,
        Err(StoreError::Fenced {
            execution: "soon".into(),
            held: 2
        })
    );
    // "soon" (at 90) is claimed again, "later" (at 500) nobody holds.
    assert_eq!(store.next_wake(now).await.unwrap(), Some(at(500)));
    store.release("soon", 3).await.unwrap();
    assert_eq!(store.next_wake(now).await.unwrap(), Some(at(90)));
}

/// Creates an execution parked until `wake` (released, nobody holds it).
async fn parked(store: &dyn Store, id: &str, wake: Option<SystemTime>) {
    let fence = create(store, id, id).await;
    store
        .commit(transition(
            id,
            fence,
            vec![],
            checkpoint(id, Status::Running, wake),
        ))
        .await
        .unwrap();
    store.release(id, fence).await.unwrap();
}

/// A claim at `now` that takes over nothing, of at most `limit`.
fn claim_at(now: SystemTime, limit: usize) -> Claim {
    Claim {
        limit,
        ..claim("w2", now, false)
    }
}

async fn an_expired_lease_makes_an_execution_claimable(store: &dyn Store) {
    // Created leased until at(30), due at once.
    create(store, "e1", "e1").await;
    assert_eq!(store.claim(claim_at(at(29), 100)).await.unwrap(), []);
    let taken = store.claim(claim_at(at(30), 100)).await.unwrap();
    assert_eq!(ids(taken), ["e1"]);
    // Claimed again, it is leased until at(60).
    assert_eq!(store.claim(claim_at(at(59), 100)).await.unwrap(), []);
    let again = store.claim(claim_at(at(60), 100)).await.unwrap();
    assert_eq!(
        again
            .iter()
            .map(|e| (e.id.as_str(), e.fence))
            .collect::<Vec<_>>(),
        [("e1", 3)]
    );
    // A held execution's timer counts once its lease has expired.
    let fence = create(store, "e2", "e2").await;
    store
        .commit(transition(
            "e2",
            fence,
            vec![],
            checkpoint("a", Status::Running, Some(at(10))),
        ))
        .await
        .unwrap();
    assert_eq!(store.next_wake(at(29)).await.unwrap(), None);
    assert_eq!(store.next_wake(at(30)).await.unwrap(), Some(at(10)));
}

async fn a_committed_timer_moves_the_execution(store: &dyn Store) {
    parked(store, "e1", Some(at(500))).await;
    assert_eq!(store.next_wake(at(100)).await.unwrap(), Some(at(500)));
    assert_eq!(store.claim(claim_at(at(100), 100)).await.unwrap(), []);
    // Taken early, and parked again sooner.
    let early = Claim {
        due_by: at(500),
        ..claim_at(at(100), 100)
    };
    let taken = store.claim(early).await.unwrap();
    assert_eq!(taken.len(), 1);
    let fence = taken[0].fence;
    assert_eq!(store.next_wake(at(100)).await.unwrap(), None);
    store
        .commit(transition(
            "e1",
            fence,
            vec![],
            checkpoint("b", Status::Running, Some(at(200))),
        ))
        .await
        .unwrap();
    store.release("e1", fence).await.unwrap();
    assert_eq!(store.next_wake(at(100)).await.unwrap(), Some(at(200)));
    assert_eq!(store.claim(claim_at(at(199), 100)).await.unwrap(), []);
    let due = store.claim(claim_at(at(200), 100)).await.unwrap();
    assert_eq!(due.len(), 1);
    // And parked again later.
    let fence = due[0].fence;
    store
        .commit(transition(
            "e1",
            fence,
            vec![],
            checkpoint("c", Status::Running, Some(at(900))),
        ))
        .await
        .unwrap();
    store.release("e1", fence).await.unwrap();
    assert_eq!(store.next_wake(at(200)).await.unwrap(), Some(at(900)));
    assert_eq!(store.claim(claim_at(at(899), 100)).await.unwrap(), []);
    assert_eq!(
        ids(store.claim(claim_at(at(900), 100)).await.unwrap()),
        ["e1"]
    );
}

async fn an_ended_execution_is_never_claimed(store: &dyn Store) {
    let end = |id: &'static str, status, wake| async move {
        let fence = create(store, id, id).await;
        let mut last = transition(id, fence, vec![], checkpoint(id, status, wake));
        last.stopped_at = Some(at(5));
        store.commit(last).await.unwrap();
        fence
    };
    // Ended while held, with a stale timer left in its checkpoint.
    end("held", Status::Succeeded, Some(at(10))).await;
    // Ended, then released.
    let fence = end("released", Status::Failed, Some(at(10))).await;
    store.release("released", fence).await.unwrap();
    // Parked, then aborted by a claimer.
    parked(store, "aborted", Some(at(10))).await;
    let taken = store.claim(claim_at(at(10), 100)).await.unwrap();
    assert_eq!(ids(taken), ["aborted"]);
    store
        .commit(transition(
            "aborted",
            2,
            vec![],
            checkpoint("x", Status::Aborted, Some(at(10))),
        ))
        .await
        .unwrap();
    store.release("aborted", 2).await.unwrap();
    assert_eq!(store.claim(claim("w3", at(100), true)).await.unwrap(), []);
    assert_eq!(store.next_wake(at(1_000_000)).await.unwrap(), None);
}

async fn next_wake_is_the_earliest_timer_nobody_holds(store: &dyn Store) {
    assert_eq!(store.next_wake(at(0)).await.unwrap(), None);
    // No timer: due at once, but not a wake-up time.
    parked(store, "none", None).await;
    assert_eq!(store.next_wake(at(100)).await.unwrap(), None);
    for (id, wake) in [("c", 300), ("a", 100), ("b", 200)] {
        parked(store, id, Some(at(wake))).await;
    }
    assert_eq!(store.next_wake(at(100)).await.unwrap(), Some(at(100)));
    // Held until at(30), due earlier than every parked one.
    let fence = create(store, "held", "held").await;
    store
        .commit(transition(
            "held",
            fence,
            vec![],
            checkpoint("h", Status::Running, Some(at(50))),
        ))
        .await
        .unwrap();
    assert_eq!(store.next_wake(at(29)).await.unwrap(), Some(at(100)));
    assert_eq!(store.next_wake(at(30)).await.unwrap(), Some(at(50)));
    // The earliest taken, the next earliest is next.
    let taken = store.claim(claim_at(at(20), 100)).await.unwrap();
    assert_eq!(ids(taken), ["none"]);
    // "none"'s new lease (until at(50)) has expired by then too.
    let taken = store.claim(claim_at(at(100), 100)).await.unwrap();
    assert_eq!(sorted(ids(taken)), ["a", "held", "none"]);
    assert_eq!(store.next_wake(at(100)).await.unwrap(), Some(at(200)));
}

async fn a_claim_takes_at_most_its_limit(store: &dyn Store) {
    for id in ["a", "b", "c", "d", "e"] {
        parked(store, id, Some(at(10))).await;
    }
    assert_eq!(store.claim(claim_at(at(10), 0)).await.unwrap(), []);
    let first = ids(store.claim(claim_at(at(10), 2)).await.unwrap());
    let second = ids(store.claim(claim_at(at(10), 2)).await.unwrap());
    let third = ids(store.claim(claim_at(at(10), 2)).await.unwrap());
    assert_eq!((first.len(), second.len(), third.len()), (2, 2, 1));
    let all = sorted([first, second, third].concat());
    assert_eq!(all, ["a", "b", "c", "d", "e"]);
    assert_eq!(store.claim(claim_at(at(10), 2)).await.unwrap(), []);
}

async fn lists_filter_by_workflow_and_status_in_start_order(store: &dyn Store) {
    for (id, workflow) in [("a", "Order"), ("b", "Refund"), ("c", "Order")] {
        store
            .create(new(id, id, workflow), "w", at(30))
            .await
            .unwrap();
    }
    store
        .commit(transition(
            "c",
            1,
            vec![],
            checkpoint("x", Status::Failed, None),
        ))
        .await
        .unwrap();
    assert_eq!(
        ids(store.list(Filter::default()).await.unwrap()),
        ["a", "b", "c"]
    );
    let orders = Filter {
        workflow: Some("Order".into()),
        status: None,
    };
    assert_eq!(ids(store.list(orders).await.unwrap()), ["a", "c"]);
    let failed_orders = Filter {
        workflow: Some("Order".into()),
        status: Some(Status::Failed),
    };
    assert_eq!(ids(store.list(failed_orders).await.unwrap()), ["c"]);
}

async fn the_first_callback_completion_stands(store: &dyn Store) {
    use workflow_runtime::store::CallbackResult;
    assert_eq!(store.callback("t1").await.unwrap(), None);
    let done = CallbackResult::Succeeded("42".into());
    store.complete_callback("t1", done.clone()).await.unwrap();
    let late = CallbackResult::Failed {
        error: "Late".into(),
        cause: "too late".into(),
    };
    store.complete_callback("t1", late.clone()).await.unwrap();
    assert_eq!(store.callback("t1").await.unwrap(), Some(done));
    store.complete_callback("t2", late.clone()).await.unwrap();
    assert_eq!(store.callback("t2").await.unwrap(), Some(late));
}

async fn definitions_are_kept_once_per_version_in_order(store: &dyn Store) {
    use workflow_runtime::store::StoredDefinition;
    let kept = |workflow: &str, version: &str, definition: &str| StoredDefinition {
        workflow: workflow.into(),
        version: version.into(),
        definition: definition.into(),
    };
    assert_eq!(store.definitions().await.unwrap(), []);
    store
        .save_definition(kept("Order", "v1", "{1}"))
        .await
        .unwrap();
    store
        .save_definition(kept("Item", "v1", "{i}"))
        .await
        .unwrap();
    store
        .save_definition(kept("Order", "v1", "{other}"))
        .await
        .unwrap();
    store
        .save_definition(kept("Order", "v2", "{2}"))
        .await
        .unwrap();
    assert_eq!(
        store.definitions().await.unwrap(),
        [
            kept("Order", "v1", "{1}"),
            kept("Item", "v1", "{i}"),
            kept("Order", "v2", "{2}"),
        ]
    );
}

async fn errors_are_typed(store: &dyn Store) {
    assert_eq!(
        store.history("nope").await,
        Err(StoreError::NotFound("nope".into()))
    );
    let missing = store
        .commit(transition(
            "nope",
            1,
            vec![],
            checkpoint("x", Status::Running, None),
        ))
        .await;
    assert_eq!(missing, Err(StoreError::NotFound("nope".into())));
    let fence = create(store, "e1", "order-1").await;
    let mut failed = checkpoint("x", Status::Failed, None);
    failed.error = Some(ErrorInfo::new("States.Timeout", "too slow"));
    store
        .commit(transition("e1", fence, vec![], failed.clone()))
        .await
        .unwrap();
    assert_eq!(
        store.execution("e1").await.unwrap().unwrap().checkpoint,
        failed
    );
}

macro_rules! suite {
    ($store:ident, $make:expr) => {
        mod $store {
            use super::*;

            fn make() -> impl Store {
                $make
            }

            #[tokio::test]
            async fn creates_and_reads_back() {
                super::creates_and_reads_back(&make()).await;
            }
            #[tokio::test]
            async fn a_taken_name_returns_the_existing_execution() {
                super::a_taken_name_returns_the_existing_execution(&make()).await;
            }
            #[tokio::test]
            async fn a_commit_writes_checkpoint_and_events_together() {
                super::a_commit_writes_checkpoint_and_events_together(&make()).await;
            }
            #[tokio::test]
            async fn a_stale_fence_writes_nothing() {
                super::a_stale_fence_writes_nothing(&make()).await;
            }
            #[tokio::test]
            async fn events_must_follow_the_history() {
                super::events_must_follow_the_history(&make()).await;
            }
            #[tokio::test]
            async fn claims_take_due_unleased_running_executions() {
                super::claims_take_due_unleased_running_executions(&make()).await;
            }
            #[tokio::test]
            async fn an_expired_lease_makes_an_execution_claimable() {
                super::an_expired_lease_makes_an_execution_claimable(&make()).await;
            }
            #[tokio::test]
            async fn a_committed_timer_moves_the_execution() {
                super::a_committed_timer_moves_the_execution(&make()).await;
            }
            #[tokio::test]
            async fn an_ended_execution_is_never_claimed() {
                super::an_ended_execution_is_never_claimed(&make()).await;
            }
            #[tokio::test]
            async fn next_wake_is_the_earliest_timer_nobody_holds() {
                super::next_wake_is_the_earliest_timer_nobody_holds(&make()).await;
            }
            #[tokio::test]
            async fn a_claim_takes_at_most_its_limit() {
                super::a_claim_takes_at_most_its_limit(&make()).await;
            }
            #[tokio::test]
            async fn lists_filter_by_workflow_and_status_in_start_order() {
                super::lists_filter_by_workflow_and_status_in_start_order(&make()).await;
            }
            #[tokio::test]
            async fn the_first_callback_completion_stands() {
                super::the_first_callback_completion_stands(&make()).await;
            }
            #[tokio::test]
            async fn definitions_are_kept_once_per_version_in_order() {
                super::definitions_are_kept_once_per_version_in_order(&make()).await;
            }
            #[tokio::test]
            async fn errors_are_typed() {
                super::errors_are_typed(&make()).await;
            }
        }
    };
}

suite!(memory, MemoryStore::new());
suite!(
    sqlite,
    SqliteStore::in_memory().expect("an in-memory database")
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
    async fn an_older_schema_is_migrated_and_keeps_its_executions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wf.db");
        let store = SqliteStore::open(&path).unwrap();
        create(&store, "e1", "order-1").await;
        drop(store);
        // Back to schema 2, as a database written before definitions were
        // kept and before the claim index.
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch(
            "DROP TABLE definitions; DROP INDEX executions_claimable; \
             CREATE INDEX executions_due ON executions (status, wake_at); \
             PRAGMA user_version = 2;",
        )
        .unwrap();
        drop(raw);
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.execution("e1").await.unwrap().is_some());
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
        definitions_are_kept_once_per_version_in_order(&store).await;
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
                supported: 4
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
                .all(|e| e.last_event_id == 10 && e.checkpoint.state == "s9")
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
