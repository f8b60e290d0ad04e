//! The contract of `Store::commit_children` and `Store::children`: finished
//! Parallel branches and Map iterations are written with their events under
//! the rules of a commit, and read back by state entry and attempt.

use workflow_runtime::Status;
use workflow_runtime::store::{ChildTransition, FinishedChild, Store, StoreError};

use super::{at, checkpoint, create, events, transition};

fn child(entry: u64, attempt: u32, index: u64, output: &str) -> FinishedChild {
    FinishedChild {
        entry,
        attempt,
        index,
        output: output.to_owned(),
    }
}

fn finished(
    id: &str,
    fence: u64,
    child: FinishedChild,
    events: Vec<workflow_runtime::Event>,
) -> ChildTransition {
    ChildTransition {
        execution: id.to_owned(),
        fence,
        children: vec![child],
        events,
    }
}

/// An execution in a state at entry 3, with one event.
async fn in_state(store: &dyn Store) -> u64 {
    let fence = create(store, "e1", "order-1").await;
    let mut running = checkpoint("Split", Status::Running, None);
    running.entry = 3;
    store
        .commit(transition("e1", fence, events(1, 1), running))
        .await
        .unwrap();
    fence
}

pub async fn finished_children_are_kept_with_their_events(store: &dyn Store) {
    let fence = in_state(store).await;
    let before = store.execution("e1").await.unwrap().unwrap().checkpoint;
    for (index, first_event) in [(1, 2), (0, 4)] {
        let output = format!("{{\"n\":{index}}}");
        store
            .commit_children(finished(
                "e1",
                fence,
                child(3, 1, index, &output),
                events(first_event, 2),
            ))
            .await
            .unwrap();
    }
    assert_eq!(
        store.children("e1", 3, 1).await.unwrap(),
        [child(3, 1, 0, r#"{"n":0}"#), child(3, 1, 1, r#"{"n":1}"#)],
        "in index order"
    );
    assert_eq!(
        store.children("e1", 3, 2).await.unwrap(),
        [],
        "another attempt"
    );
    assert_eq!(
        store.children("e1", 4, 1).await.unwrap(),
        [],
        "another entry"
    );
    assert_eq!(store.children("nope", 3, 1).await.unwrap(), []);
    let stored = store.execution("e1").await.unwrap().unwrap();
    assert_eq!(stored.checkpoint, before, "the checkpoint stays as it was");
    assert_eq!(stored.last_event_id, 5);
    assert_eq!(store.history("e1").await.unwrap(), events(1, 5));
    // A commit goes on after the children's events.
    store
        .commit(transition("e1", fence, events(6, 1), before))
        .await
        .unwrap();
    // A child written again keeps its latest output.
    store
        .commit_children(finished("e1", fence, child(3, 1, 0, "7"), events(7, 1)))
        .await
        .unwrap();
    assert_eq!(
        store.children("e1", 3, 1).await.unwrap()[0],
        child(3, 1, 0, "7")
    );
}

pub async fn a_child_write_is_fenced_checked_and_refused_once_ended(store: &dyn Store) {
    let fence = in_state(store).await;
    let stale = store
        .commit_children(finished("e1", fence + 1, child(3, 1, 0, "1"), events(2, 2)))
        .await;
    assert_eq!(
        stale,
        Err(StoreError::Fenced {
            execution: "e1".into(),
            held: fence + 1
        })
    );
    let gap = store
        .commit_children(finished("e1", fence, child(3, 1, 0, "1"), events(3, 2)))
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
    let missing = store
        .commit_children(finished("nope", 1, child(3, 1, 0, "1"), events(1, 1)))
        .await;
    assert_eq!(missing, Err(StoreError::NotFound("nope".into())));
    assert_eq!(store.children("e1", 3, 1).await.unwrap(), []);
    assert_eq!(store.history("e1").await.unwrap(), events(1, 1));
    let mut ended = transition(
        "e1",
        fence,
        events(2, 1),
        checkpoint("Done", Status::Succeeded, None),
    );
    ended.stopped_at = Some(at(5));
    store.commit(ended).await.unwrap();
    let late = store
        .commit_children(finished("e1", fence, child(3, 1, 0, "1"), events(3, 2)))
        .await;
    assert_eq!(late, Err(StoreError::Ended("e1".into())));
    assert_eq!(store.history("e1").await.unwrap().len(), 2);
}

pub async fn children_finished_together_are_written_in_one(store: &dyn Store) {
    let fence = in_state(store).await;
    let both = ChildTransition {
        execution: "e1".to_owned(),
        fence,
        children: vec![child(3, 1, 2, "2"), child(3, 1, 0, "0")],
        events: events(2, 4),
    };
    store.commit_children(both).await.unwrap();
    assert_eq!(
        store.children("e1", 3, 1).await.unwrap(),
        [child(3, 1, 0, "0"), child(3, 1, 2, "2")]
    );
    assert_eq!(store.history("e1").await.unwrap(), events(1, 5));
}

pub async fn a_purge_deletes_the_children(store: &dyn Store) {
    let fence = in_state(store).await;
    store
        .commit_children(finished("e1", fence, child(3, 1, 0, "1"), events(2, 2)))
        .await
        .unwrap();
    let mut ended = transition(
        "e1",
        fence,
        events(4, 1),
        checkpoint("Done", Status::Succeeded, None),
    );
    ended.stopped_at = Some(at(5));
    store.commit(ended).await.unwrap();
    assert_eq!(store.purge(at(6), 10).await.unwrap(), 1);
    // The id is free again: a new execution under it has no children.
    in_state(store).await;
    assert_eq!(store.children("e1", 3, 1).await.unwrap(), []);
}
