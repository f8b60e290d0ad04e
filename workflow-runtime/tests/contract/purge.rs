//! The contract of `Store::purge`: retention deletes old ended executions
//! with their histories and callback answers, in batches, and nothing else.

use std::time::SystemTime;

use workflow_runtime::Status;
use workflow_runtime::store::{CallbackResult, Created, Filter, Store, StoreError};

use super::{at, checkpoint, create, events, ids, new, transition};

/// Creates an execution that ended at `stopped_at`, with two events.
pub async fn ended(store: &dyn Store, id: &str, stopped_at: SystemTime) {
    let fence = create(store, id, id).await;
    let mut last = transition(
        id,
        fence,
        events(1, 2),
        checkpoint("Done", Status::Succeeded, None),
    );
    last.stopped_at = Some(stopped_at);
    store.commit(last).await.unwrap();
}

async fn answer(store: &dyn Store, token: &str) {
    store
        .complete_callback(token, CallbackResult::Succeeded("1".into()))
        .await
        .unwrap();
}

pub async fn a_purge_deletes_old_ended_executions_with_their_histories(store: &dyn Store) {
    ended(store, "old", at(10)).await;
    ended(store, "recent", at(100)).await;
    // Started at(0), long before the cut, and still running.
    create(store, "running", "running").await;
    answer(store, "old/Ask/1").await;
    // Another execution's token, though it starts with "old".
    answer(store, "older/Ask/0").await;
    answer(store, "recent/Ask/1").await;

    // Ended strictly before at(100): only "old".
    assert_eq!(store.purge(at(100), 100).await.unwrap(), 1);
    assert_eq!(store.execution("old").await.unwrap(), None);
    assert_eq!(
        store.history("old").await,
        Err(StoreError::NotFound("old".into()))
    );
    assert_eq!(store.callback("old/Ask/1").await.unwrap(), None);
    assert!(store.callback("older/Ask/0").await.unwrap().is_some());
    assert!(store.callback("recent/Ask/1").await.unwrap().is_some());
    assert_eq!(
        ids(store.list(Filter::default()).await.unwrap()),
        ["recent", "running"]
    );
    assert_eq!(store.history("recent").await.unwrap(), events(1, 2));
    let running = store.execution("running").await.unwrap().unwrap();
    assert_eq!(running.checkpoint.status, Status::Running);

    // The name is free again: a start under it is a new execution.
    let again = store
        .create(new("old-2", "old", "Order"), "w1", at(200))
        .await;
    assert!(matches!(again, Ok(Created::New { .. })), "{again:?}");
}

pub async fn a_purge_never_deletes_a_running_execution(store: &dyn Store) {
    create(store, "running", "running").await;
    // Parked on a timer, nobody holding it.
    let fence = create(store, "parked", "parked").await;
    store
        .commit(transition(
            "parked",
            fence,
            events(1, 1),
            checkpoint("Hold", Status::Running, Some(at(500))),
        ))
        .await
        .unwrap();
    store.release("parked", fence).await.unwrap();
    // Failed, but with no stop time recorded: not known to be old.
    let fence = create(store, "unstopped", "unstopped").await;
    store
        .commit(transition(
            "unstopped",
            fence,
            vec![],
            checkpoint("x", Status::Failed, None),
        ))
        .await
        .unwrap();
    ended(store, "done", at(20)).await;

    assert_eq!(store.purge(at(1_000_000), 100).await.unwrap(), 1);
    assert_eq!(
        ids(store.list(Filter::default()).await.unwrap()),
        ["running", "parked", "unstopped"]
    );
    assert_eq!(store.history("parked").await.unwrap(), events(1, 1));
    assert_eq!(store.next_wake(at(0)).await.unwrap(), Some(at(500)));
    assert_eq!(store.purge(at(1_000_000), 100).await.unwrap(), 0);
}

pub async fn a_purge_deletes_at_most_its_limit(store: &dyn Store) {
    for n in 0..5 {
        ended(store, &format!("e{n}"), at(10 + n)).await;
    }
    ended(store, "late", at(300)).await;
    assert_eq!(store.purge(at(100), 0).await.unwrap(), 0);
    // Batches of two until one comes back short.
    let mut batches = Vec::new();
    loop {
        let purged = store.purge(at(100), 2).await.unwrap();
        batches.push(purged);
        if purged < 2 {
            break;
        }
    }
    assert_eq!(batches, [2, 2, 1]);
    assert_eq!(ids(store.list(Filter::default()).await.unwrap()), ["late"]);
    for n in 0..5 {
        let id = format!("e{n}");
        assert_eq!(store.history(&id).await, Err(StoreError::NotFound(id)));
    }
}
