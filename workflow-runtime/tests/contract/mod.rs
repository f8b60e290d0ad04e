//! The store contract: what every `Store` must do, as functions over
//! `&dyn Store`, and `suite!`, which makes a test of each for one store.
//! Included by each store's test target.

mod callbacks;
mod children;
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
}

pub async fn claims_take_due_unleased_running_executions(store: &dyn Store) {
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
    let claimed = store
        .claim(claim("w2", now, false))
        .await
        .unwrap()
        .executions;
    assert!(claimed.iter().all(|e| e.fence == 2));
    assert_eq!(sorted(ids(claimed)), ["now", "soon"]);
    // Claimed executions are leased: a second claim finds nothing.
    assert_eq!(
        store
            .claim(claim("w3", now, false))
            .await
            .unwrap()
            .executions,
        []
    );
    // Released, an execution can be claimed again, with a new fence.
    store.release("soon", 2).await.unwrap();
    let again = store
        .claim(claim("w3", now, false))
        .await
        .unwrap()
        .executions;
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
pub async fn parked(store: &dyn Store, id: &str, wake: Option<SystemTime>) {
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
pub fn claim_at(now: SystemTime, limit: usize) -> Claim {
    Claim {
        limit,
        ..claim("w2", now, false)
    }
}

pub async fn an_expired_lease_makes_an_execution_claimable(store: &dyn Store) {
    // Created leased until at(30), due at once.
    create(store, "e1", "e1").await;
    assert_eq!(
        store.claim(claim_at(at(29), 100)).await.unwrap().executions,
        []
    );
    let taken = store.claim(claim_at(at(30), 100)).await.unwrap().executions;
    assert_eq!(ids(taken), ["e1"]);
    // Claimed again, it is leased until at(60).
    assert_eq!(
        store.claim(claim_at(at(59), 100)).await.unwrap().executions,
        []
    );
    let again = store.claim(claim_at(at(60), 100)).await.unwrap().executions;
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

pub async fn a_committed_timer_moves_the_execution(store: &dyn Store) {
    parked(store, "e1", Some(at(500))).await;
    assert_eq!(store.next_wake(at(100)).await.unwrap(), Some(at(500)));
    assert_eq!(
        store
            .claim(claim_at(at(100), 100))
            .await
            .unwrap()
            .executions,
        []
    );
    // Taken early, and parked again sooner.
    let early = Claim {
        due_by: at(500),
        ..claim_at(at(100), 100)
    };
    let taken = store.claim(early).await.unwrap().executions;
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
    assert_eq!(
        store
            .claim(claim_at(at(199), 100))
            .await
            .unwrap()
            .executions,
        []
    );
    let due = store
        .claim(claim_at(at(200), 100))
        .await
        .unwrap()
        .executions;
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
    assert_eq!(
        store
            .claim(claim_at(at(899), 100))
            .await
            .unwrap()
            .executions,
        []
    );
    assert_eq!(
        ids(store
            .claim(claim_at(at(900), 100))
            .await
            .unwrap()
            .executions),
        ["e1"]
    );
}

pub async fn an_ended_execution_is_never_claimed(store: &dyn Store) {
    let end = |id: &'static str, status, wake| async move {
        let fence = create(store, id, id).await;
        let mut last = transition(id, fence, vec![], checkpoint(id, status, wake));
        last.stopped_at = Some(at(5));
        store.commit(last).await.unwrap();
        fence
    };
    // Ended while held, with a stale timer left in its checkpoint.
    end("held", Status::Succeeded, Some(at(10))).await;
    // Ended, then released: the release is refused, and changes nothing.
    let fence = end("released", Status::Failed, Some(at(10))).await;
    assert_eq!(
        store.release("released", fence).await,
        Err(StoreError::Ended("released".into()))
    );
    // Parked, then aborted by a claimer.
    parked(store, "aborted", Some(at(10))).await;
    let taken = store.claim(claim_at(at(10), 100)).await.unwrap().executions;
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
    assert!(store.release("aborted", 2).await.is_err());
    assert_eq!(
        store
            .claim(claim("w3", at(100), true))
            .await
            .unwrap()
            .executions,
        []
    );
    assert_eq!(store.next_wake(at(1_000_000)).await.unwrap(), None);
}

pub async fn renewing_keeps_the_leases_still_held_and_reports_the_lost(store: &dyn Store) {
    // e1 and e2 are created by w1 (leases until 30) and claimed by w2 once
    // they expired (fence 2); e3 is w1's.
    create(store, "e1", "order-1").await;
    create(store, "e2", "order-2").await;
    let taken = store
        .claim(claim_by("w2", at(40), 10))
        .await
        .unwrap()
        .executions;
    assert_eq!(sorted(ids(taken)), ["e1", "e2"]);
    create(store, "e3", "order-3").await;
    // w2 renews until 1000; w1 still thinks it holds e1 with fence 1: lost.
    let held = |list: &[(&str, u64)]| {
        list.iter()
            .map(|&(id, fence)| (id.to_owned(), fence))
            .collect::<Vec<_>>()
    };
    let lost = store
        .renew_leases(held(&[("e1", 2), ("e2", 2)]), at(1000))
        .await
        .unwrap();
    assert_eq!(lost, Vec::<String>::new());
    let lost = store
        .renew_leases(held(&[("e1", 1), ("nope", 1)]), at(1000))
        .await
        .unwrap();
    assert_eq!(sorted(lost), ["e1", "nope"]);
    let at_500 = store
        .claim(claim_by("w3", at(500), 10))
        .await
        .unwrap()
        .executions;
    assert_eq!(
        ids(at_500),
        ["e3"],
        "only the lease that was not renewed expired"
    );
    // A released (parked) execution is not leased again by a renewal.
    let fence = store.execution("e3").await.unwrap().unwrap().fence;
    store.release("e3", fence).await.unwrap();
    let lost = store
        .renew_leases(held(&[("e3", fence)]), at(2000))
        .await
        .unwrap();
    assert_eq!(lost, ["e3"]);
    // A renewal into the past gives the lease up: claimable at once.
    store
        .renew_leases(held(&[("e2", 2)]), UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!(
        sorted(ids(store
            .claim(claim_by("w4", at(600), 10))
            .await
            .unwrap()
            .executions)),
        ["e2", "e3"]
    );
}

fn claim_by(owner: &str, now: SystemTime, limit: usize) -> Claim {
    Claim {
        owner: owner.to_owned(),
        lease_until: now + Duration::from_secs(30),
        due_by: now,
        leases_expired_by: now,
        limit,
    }
}

pub async fn next_wake_is_the_earliest_timer_nobody_holds(store: &dyn Store) {
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
    let taken = store.claim(claim_at(at(20), 100)).await.unwrap().executions;
    assert_eq!(ids(taken), ["none"]);
    // "none"'s new lease (until at(50)) has expired by then too.
    let taken = store
        .claim(claim_at(at(100), 100))
        .await
        .unwrap()
        .executions;
    assert_eq!(sorted(ids(taken)), ["a", "held", "none"]);
    assert_eq!(store.next_wake(at(100)).await.unwrap(), Some(at(200)));
}

pub async fn a_claim_takes_at_most_its_limit(store: &dyn Store) {
    for id in ["a", "b", "c", "d", "e"] {
        parked(store, id, Some(at(10))).await;
    }
    assert_eq!(
        store.claim(claim_at(at(10), 0)).await.unwrap().executions,
        []
    );
    let first = ids(store.claim(claim_at(at(10), 2)).await.unwrap().executions);
    let second = ids(store.claim(claim_at(at(10), 2)).await.unwrap().executions);
    let third = ids(store.claim(claim_at(at(10), 2)).await.unwrap().executions);
    assert_eq!((first.len(), second.len(), third.len()), (2, 2, 1));
    let all = sorted([first, second, third].concat());
    assert_eq!(all, ["a", "b", "c", "d", "e"]);
    assert_eq!(
        store.claim(claim_at(at(10), 2)).await.unwrap().executions,
        []
    );
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
