//! The contract of awaited callbacks: recorded once per key, listed in
//! sequence order while they wait, and gone once answered, moved past,
//! ended or purged.

use std::time::Duration;
use workflow_runtime::Status;

use workflow_runtime::store::{
    AwaitedCallback, CallbackResult, Checkpoint, ParkedCallback, PendingQuery, PendingRow, Store,
    unanswered,
};

use super::{at, checkpoint, claim, create, ids, new, transition};

/// An execution's checkpoint in `state`, at `entry`.
fn at_state(state: &str, entry: u64, status: Status) -> Checkpoint {
    Checkpoint {
        state_name: state.to_owned(),
        entry,
        ..checkpoint("s", status, None)
    }
}

/// A running execution of `workflow`, at `state`'s entry `entry`.
async fn running_at(store: &dyn Store, id: &str, workflow: &str, state: &str, entry: u64) -> u64 {
    let fence = match store
        .create(new(id, id, workflow), "w1", at(30))
        .await
        .unwrap()
    {
        workflow_runtime::store::Created::New { fence } => fence,
        existing => panic!("{existing:?}"),
    };
    let moved = transition(
        id,
        fence,
        Vec::new(),
        at_state(state, entry, Status::Running),
    );
    store.commit(moved).await.unwrap();
    fence
}

/// A task waiting at `key` (`<id>/<anchor>/<entry>[/<i>/<state>/<entry>]`).
fn awaited(key: &str, since: u64, message: Option<&str>) -> AwaitedCallback {
    let parts: Vec<&str> = key.split('/').collect();
    AwaitedCallback {
        key: key.to_owned(),
        token: format!("token of {key}"),
        execution: parts[0].to_owned(),
        anchor_state: parts[1].to_owned(),
        anchor_entry: parts[2].parse().unwrap(),
        state: parts[parts.len() - 2].to_owned(),
        since: at(since),
        message: message.map(str::to_owned),
    }
}

fn all() -> PendingQuery {
    PendingQuery {
        limit: 100,
        ..PendingQuery::default()
    }
}

async fn keys(store: &dyn Store, query: PendingQuery) -> Vec<String> {
    let rows = store.pending_callbacks(query).await.unwrap();
    rows.into_iter()
        .map(|row| row.token.trim_start_matches("token of ").to_owned())
        .collect()
}

pub async fn awaited_callbacks_are_listed_once_in_order_with_their_execution(store: &dyn Store) {
    running_at(store, "e1", "Order", "Ask", 2).await;
    running_at(store, "e2", "Refund", "Fan", 1).await;
    store
        .await_callback(awaited("e1/Ask/2", 5, Some(r#"{"amount":3}"#)))
        .await
        .unwrap();
    store
        .await_callback(awaited("e2/Fan/1/0/Ask/0", 6, None))
        .await
        .unwrap();
    // The same task waiting again (after a restart) keeps its first record.
    store
        .await_callback(awaited("e1/Ask/2", 9, Some("null")))
        .await
        .unwrap();
    store
        .await_callback(awaited("e2/Fan/1/1/Ask/0", 7, None))
        .await
        .unwrap();

    let rows = store.pending_callbacks(all()).await.unwrap();
    let first = &rows[0];
    assert_eq!(
        *first,
        PendingRow {
            seq: first.seq,
            token: "token of e1/Ask/2".into(),
            execution: "e1".into(),
            name: "e1".into(),
            workflow: "Order".into(),
            state: "Ask".into(),
            since: at(5),
            message: Some(r#"{"amount":3}"#.into()),
        }
    );
    assert_eq!(
        keys(store, all()).await,
        ["e1/Ask/2", "e2/Fan/1/0/Ask/0", "e2/Fan/1/1/Ask/0"]
    );
    assert!(rows.windows(2).all(|pair| pair[0].seq < pair[1].seq));

    let of_refunds = PendingQuery {
        workflow: Some("Refund".into()),
        ..all()
    };
    assert_eq!(
        keys(store, of_refunds).await,
        ["e2/Fan/1/0/Ask/0", "e2/Fan/1/1/Ask/0"]
    );
    let of_e1 = PendingQuery {
        execution: Some("e1".into()),
        ..all()
    };
    assert_eq!(keys(store, of_e1).await, ["e1/Ask/2"]);

    // Pages: at most `limit`, from after a sequence number on.
    let page = PendingQuery { limit: 2, ..all() };
    let first_page = store.pending_callbacks(page.clone()).await.unwrap();
    assert_eq!(first_page.len(), 2);
    let next = PendingQuery {
        after: first_page[1].seq,
        ..page
    };
    assert_eq!(keys(store, next).await, ["e2/Fan/1/1/Ask/0"]);
}

pub async fn a_callback_waits_no_more_once_answered_moved_past_or_ended(store: &dyn Store) {
    let e1 = running_at(store, "e1", "Order", "Ask", 2).await;
    let e2 = running_at(store, "e2", "Order", "Fan", 1).await;
    running_at(store, "e3", "Order", "Ask", 0).await;
    for key in [
        "e1/Ask/2",
        "e2/Fan/1/0/Ask/0",
        "e2/Fan/1/1/Ask/0",
        "e3/Ask/0",
    ] {
        store.await_callback(awaited(key, 1, None)).await.unwrap();
    }
    // Answered.
    let answer = CallbackResult::Succeeded("1".into());
    store
        .complete_callback("e2/Fan/1/0/Ask/0", answer.clone())
        .await
        .unwrap();
    assert_eq!(
        keys(store, all()).await,
        ["e1/Ask/2", "e2/Fan/1/1/Ask/0", "e3/Ask/0"]
    );
    // Answered before the task recorded its wait (it raced the answer).
    store
        .complete_callback("e3/Ask/1", answer.clone())
        .await
        .unwrap();
    running_at(store, "e4", "Order", "Ask", 1).await;
    store
        .await_callback(awaited("e4/Ask/1", 1, None))
        .await
        .unwrap();
    store.complete_callback("e4/Ask/1", answer).await.unwrap();
    store
        .await_callback(awaited("e4/Ask/1", 2, None))
        .await
        .unwrap();
    assert!(!keys(store, all()).await.contains(&"e4/Ask/1".to_owned()));
    // Moved past the entry: the state again, but a later entry.
    let moved = transition("e1", e1, Vec::new(), at_state("Ask", 3, Status::Running));
    store.commit(moved).await.unwrap();
    assert_eq!(keys(store, all()).await, ["e2/Fan/1/1/Ask/0", "e3/Ask/0"]);
    // Ended.
    let mut ended = transition("e2", e2, Vec::new(), at_state("Fan", 1, Status::Failed));
    ended.stopped_at = Some(at(40));
    store.commit(ended).await.unwrap();
    assert_eq!(keys(store, all()).await, ["e3/Ask/0"]);
}

pub async fn a_purge_deletes_the_awaited_callbacks_of_what_it_deletes(store: &dyn Store) {
    let fence = create(store, "e1", "e1").await;
    store
        .await_callback(awaited("e1/Ask/0", 1, None))
        .await
        .unwrap();
    let mut ended = transition("e1", fence, Vec::new(), at_state("Ask", 0, Status::Failed));
    ended.stopped_at = Some(at(10));
    store.commit(ended).await.unwrap();
    assert_eq!(store.purge(at(100), 100).await.unwrap(), 1);
    // An execution with the same id again, where the first one waited: the
    // old record is gone, and the same key is recorded anew.
    running_at(store, "e1", "Order", "Ask", 0).await;
    assert_eq!(keys(store, all()).await, Vec::<String>::new());
    store
        .await_callback(awaited("e1/Ask/0", 50, None))
        .await
        .unwrap();
    let rows = store.pending_callbacks(all()).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].since, at(50));
}

pub async fn a_parked_callback_is_kept_and_woken_only_where_it_waits(store: &dyn Store) {
    let parked = ParkedCallback {
        timeout_at: Some(at(3600)),
        heartbeat: Some(Duration::from_millis(2500)),
    };
    let no_deadline = ParkedCallback {
        timeout_at: None,
        heartbeat: None,
    };
    for (id, callback, wake_at) in [("e1", parked, at(60)), ("e2", no_deadline, unanswered())] {
        let fence = create(store, id, id).await;
        let parked_here = Checkpoint {
            callback: Some(callback),
            wake_at: Some(wake_at),
            ..at_state("Ask", 2, Status::Running)
        };
        store
            .commit(transition(id, fence, Vec::new(), parked_here.clone()))
            .await
            .unwrap();
        store.release(id, fence).await.unwrap();
        let stored = store.execution(id).await.unwrap().unwrap();
        assert_eq!(stored.checkpoint, parked_here, "read back as written");
    }
    // Not due: the one without a deadline not even at the end of time.
    let none: Vec<String> = Vec::new();
    assert_eq!(
        ids(store
            .claim(claim("w2", at(59), false))
            .await
            .unwrap()
            .executions),
        none
    );
    assert_eq!(store.next_wake(at(0)).await.unwrap(), Some(at(60)));

    // Woken only at its state and entry.
    assert!(!store.wake_callback("e2", "Ask", 1, at(10)).await.unwrap());
    assert!(!store.wake_callback("e2", "Other", 2, at(10)).await.unwrap());
    assert!(
        !store
            .wake_callback("nobody", "Ask", 2, at(10))
            .await
            .unwrap()
    );
    assert!(store.wake_callback("e2", "Ask", 2, at(10)).await.unwrap());
    let woken = store.execution("e2").await.unwrap().unwrap();
    assert_eq!(woken.checkpoint.wake_at, Some(at(10)));
    assert_eq!(woken.checkpoint.callback, Some(no_deadline), "still parked");
    assert_eq!(
        ids(store
            .claim(claim("w2", at(10), false))
            .await
            .unwrap()
            .executions),
        ["e2"]
    );

    // Moved ahead (a heartbeat) as well as back.
    assert!(store.wake_callback("e1", "Ask", 2, at(90)).await.unwrap());
    assert_eq!(store.next_wake(at(0)).await.unwrap(), Some(at(90)));

    // Not parked: no longer waiting on a callback, or ended.
    let e3 = create(store, "e3", "e3").await;
    let running = at_state("Ask", 2, Status::Running);
    store
        .commit(transition("e3", e3, Vec::new(), running))
        .await
        .unwrap();
    assert!(!store.wake_callback("e3", "Ask", 2, at(10)).await.unwrap());
    let ended = Checkpoint {
        callback: Some(parked),
        ..at_state("Ask", 2, Status::Succeeded)
    };
    let e4 = create(store, "e4", "e4").await;
    store
        .commit(transition("e4", e4, Vec::new(), ended))
        .await
        .unwrap();
    assert!(!store.wake_callback("e4", "Ask", 2, at(10)).await.unwrap());
}
