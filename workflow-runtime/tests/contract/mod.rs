//! The store contract: what every `Store` must do, as functions over
//! `&dyn Store`, and `suite!`, which makes a test of each for one store.
//! Included by each store's test target.

mod callbacks;
mod children;
mod claims;
mod corrupt;
mod purge;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use workflow_runtime::store::{
    Checkpoint, Claim, Created, Filter, NewExecution, Store, StoreError, StoredExecution,
    Transition,
};
use workflow_runtime::{ErrorInfo, Event, EventKind, Status};

pub use self::callbacks::*;
pub use self::children::*;
pub use self::claims::*;
pub use self::corrupt::*;
pub use self::purge::*;

pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

/// A state as JSON: a word becomes a JSON string, JSON stays as it is.
pub fn json(state: &str) -> String {
    if state.starts_with(['{', '"']) {
        state.to_owned()
    } else {
        format!("\"{state}\"")
    }
}

pub fn checkpoint(state: &str, status: Status, wake_at: Option<SystemTime>) -> Checkpoint {
    Checkpoint {
        state: json(state),
        state_name: format!("{state}-name"),
        entry: 0,
        attempt: 1,
        retries: vec![0, 2],
        waiting: None,
        wake_at,
        callback: None,
        status,
        output: None,
        error: None,
    }
}

pub fn new(id: &str, name: &str, workflow: &str) -> NewExecution {
    NewExecution {
        id: id.to_owned(),
        name: name.to_owned(),
        workflow: workflow.to_owned(),
        path: Some(format!("shop::{workflow}")),
        version: "v1".to_owned(),
        input: r#"{"n":1}"#.to_owned(),
        checkpoint: checkpoint(r#"{"Start":1}"#, Status::Running, None),
        started_at: at(0),
        callback_secret: "ab".repeat(32),
    }
}

pub fn events(from: u64, count: u64) -> Vec<Event> {
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

pub fn transition(id: &str, fence: u64, events: Vec<Event>, checkpoint: Checkpoint) -> Transition {
    Transition {
        execution: id.to_owned(),
        fence,
        checkpoint,
        events,
        stopped_at: None,
    }
}

pub fn claim(owner: &str, now: SystemTime, take_over: bool) -> Claim {
    Claim {
        owner: owner.to_owned(),
        lease_until: now + Duration::from_secs(30),
        due_by: now,
        leases_expired_by: if take_over { at(1_000_000) } else { now },
        limit: 100,
    }
}

pub async fn create(store: &dyn Store, id: &str, name: &str) -> u64 {
    match store
        .create(new(id, name, "Order"), "w1", at(30))
        .await
        .unwrap()
    {
        Created::New { fence } => fence,
        Created::Existing(e) => panic!("{} exists", e.name),
    }
}

pub fn ids(list: Vec<StoredExecution>) -> Vec<String> {
    list.into_iter().map(|e| e.id).collect()
}

/// The ids in a claim, whose order is the store's choice.
pub fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

pub async fn creates_and_reads_back(store: &dyn Store) {
    create(store, "e1", "order-1").await;
    let stored = store.execution("e1").await.unwrap().unwrap();
    assert_eq!(stored.name, "order-1");
    assert_eq!(stored.workflow, "Order");
    assert_eq!(stored.path.as_deref(), Some("shop::Order"));
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

pub async fn executions_are_found_by_name(store: &dyn Store) {
    create(store, "e1", "order-1").await;
    let found = store.execution_named("order-1").await.unwrap().unwrap();
    assert_eq!((found.id.as_str(), found.name.as_str()), ("e1", "order-1"));
    assert_eq!(
        store.execution_named("e1").await.unwrap(),
        None,
        "an id is no name"
    );
    assert_eq!(store.execution_named("order-2").await.unwrap(), None);
}

pub async fn a_taken_name_returns_the_existing_execution(store: &dyn Store) {
    create(store, "e1", "order-1").await;
    let mut again = new("e2", "order-1", "Order");
    again.input = r#""other""#.to_owned();
    match store.create(again, "w2", at(30)).await.unwrap() {
        Created::Existing(existing) => {
            assert_eq!(existing.id, "e1");
            assert_eq!(existing.input, r#"{"n":1}"#);
        }
        Created::New { .. } => panic!("created twice"),
    }
    assert_eq!(store.execution("e2").await.unwrap(), None);
}

pub async fn a_commit_writes_checkpoint_and_events_together(store: &dyn Store) {
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

pub async fn a_stale_fence_writes_nothing(store: &dyn Store) {
    let fence = create(store, "e1", "order-1").await;
    let running = |state| checkpoint(state, Status::Running, None);
    store
        .commit(transition("e1", fence, events(1, 1), running("a")))
        .await
        .unwrap();
    // Another worker takes the execution over.
    let taken = store
        .claim(claim("w2", at(100), true))
        .await
        .unwrap()
        .executions;
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
        (r#""a""#, 1)
    );
    assert_eq!(store.history("e1").await.unwrap().len(), 1);
    store
        .commit(transition("e1", fence + 1, events(2, 1), running("b")))
        .await
        .unwrap();
}

pub async fn an_ended_execution_takes_no_more_writes(store: &dyn Store) {
    // Two writers hold the same fence: a cancel that ended the execution in
    // the store, and the worker still running its step.
    let fence = create(store, "e1", "order-1").await;
    let mut aborted = checkpoint("a", Status::Aborted, None);
    aborted.error = Some(ErrorInfo::new("States.Aborted", "cancelled"));
    store
        .commit(transition("e1", fence, events(1, 1), aborted.clone()))
        .await
        .unwrap();
    let late = store
        .commit(transition(
            "e1",
            fence,
            events(2, 1),
            checkpoint("b", Status::Running, None),
        ))
        .await;
    assert_eq!(late, Err(StoreError::Ended("e1".into())));
    assert_eq!(
        store.release("e1", fence).await,
        Err(StoreError::Ended("e1".into()))
    );
    let stored = store.execution("e1").await.unwrap().unwrap();
    assert_eq!((stored.checkpoint, stored.last_event_id), (aborted, 1));
}

pub async fn events_must_follow_the_history(store: &dyn Store) {
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

    // A writer that read the execution before another write under the same
    // fence (a cancel from another process racing the owner's step) is
    // told the history moved on, not that it is corrupt.
    let step = |events, status| transition("e1", fence, events, checkpoint("a", status, None));
    store
        .commit(step(events(1, 2), Status::Running))
        .await
        .unwrap();
    assert_eq!(
        store.commit(step(events(2, 1), Status::Aborted)).await,
        Err(StoreError::HistoryMoved {
            execution: "e1".into(),
            follows: 1,
            ends_at: 2
        })
    );
    assert_eq!(store.history("e1").await.unwrap(), events(1, 2));
}

pub async fn lists_filter_by_workflow_and_status_in_start_order(store: &dyn Store) {
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

pub async fn the_first_callback_completion_stands(store: &dyn Store) {
    use workflow_runtime::store::CallbackResult;
    assert_eq!(store.callback("t1").await.unwrap(), None);
    let done = CallbackResult::Succeeded("42".into());
    assert_eq!(
        store.complete_callback("t1", done.clone()).await.unwrap(),
        done,
        "a first answer stands"
    );
    let late = CallbackResult::Failed {
        error: "Late".into(),
        cause: "too late".into(),
    };
    assert_eq!(
        store.complete_callback("t1", late.clone()).await.unwrap(),
        done,
        "a late answer gets the one that stands"
    );
    assert_eq!(store.callback("t1").await.unwrap(), Some(done));
    assert_eq!(
        store.complete_callback("t2", late.clone()).await.unwrap(),
        late
    );
    assert_eq!(store.callback("t2").await.unwrap(), Some(late));
}

pub async fn definitions_are_kept_once_per_version_in_order(store: &dyn Store) {
    use workflow_runtime::store::StoredDefinition;
    let kept = |workflow: &str, version: &str, definition: &str| StoredDefinition {
        workflow: workflow.into(),
        version: version.into(),
        definition: definition.into(),
    };
    assert_eq!(store.definitions().await.unwrap(), []);
    store
        .save_definition(kept("Order", "v1", r#"{"v":1}"#))
        .await
        .unwrap();
    store
        .save_definition(kept("Item", "v1", r#"{"i":1}"#))
        .await
        .unwrap();
    store
        .save_definition(kept("Order", "v1", r#"{"other":1}"#))
        .await
        .unwrap();
    store
        .save_definition(kept("Order", "v2", r#"{"v":2}"#))
        .await
        .unwrap();
    assert_eq!(
        store.definitions().await.unwrap(),
        [
            kept("Order", "v1", r#"{"v":1}"#),
            kept("Item", "v1", r#"{"i":1}"#),
            kept("Order", "v2", r#"{"v":2}"#),
        ]
    );
}

pub async fn errors_are_typed(store: &dyn Store) {
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

/// One test per contract function, on the stores `$make` (an async
/// expression giving `Option<impl Store>`; `None` skips) gives.
macro_rules! suite {
    ($store:ident, $make:expr) => {
        mod $store {
            use super::*;

            async fn make() -> Option<impl workflow_runtime::store::Store> {
                $make
            }

            contract_tests!(
                creates_and_reads_back,
                executions_are_found_by_name,
                a_taken_name_returns_the_existing_execution,
                a_commit_writes_checkpoint_and_events_together,
                a_stale_fence_writes_nothing,
                an_ended_execution_takes_no_more_writes,
                events_must_follow_the_history,
                claims_take_due_unleased_running_executions,
                an_expired_lease_makes_an_execution_claimable,
                a_committed_timer_moves_the_execution,
                an_ended_execution_is_never_claimed,
                renewing_keeps_the_leases_still_held_and_reports_the_lost,
                next_wake_is_the_earliest_timer_nobody_holds,
                a_claim_takes_at_most_its_limit,
                lists_filter_by_workflow_and_status_in_start_order,
                the_first_callback_completion_stands,
                definitions_are_kept_once_per_version_in_order,
                errors_are_typed,
                a_purge_deletes_old_ended_executions_with_their_histories,
                a_purge_never_deletes_a_running_execution,
                a_purge_deletes_at_most_its_limit,
                awaited_callbacks_are_listed_once_in_order_with_their_execution,
                a_callback_waits_no_more_once_answered_moved_past_or_ended,
                a_parked_callback_is_kept_and_woken_only_where_it_waits,
                a_purge_deletes_the_awaited_callbacks_of_what_it_deletes,
                finished_children_are_kept_with_their_events,
                a_child_write_is_fenced_checked_and_refused_once_ended,
                children_finished_together_are_written_in_one,
                a_purge_deletes_the_children,
            );
        }
    };
}

/// One test per contract function, named after it, each on a store of
/// its own.
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                let Some(store) = make().await else { return };
                super::contract::$name(&store).await;
            }
        )*
    };
}
