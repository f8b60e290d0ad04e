//! Group commits and group starts (included by `store.rs`): what queues
//! while a batch is written goes in one statement, and each transition
//! still lands, or is refused, on its own; each start is new or finds the
//! execution that has its name.
//!
//! The stores here run on the test's current-thread runtime, where the
//! commit tasks a test spawns all queue before the store's writer runs:
//! that is what puts them in one batch.

use std::sync::Arc;

use tokio::task::JoinHandle;
use workflow_postgres::PostgresStore;
use workflow_runtime::Status;
use workflow_runtime::store::{Created, Store, StoreError, Transition};

use super::contract::{at, checkpoint, create, events, new, transition};
use super::support;

/// A store in a fresh schema, writing one batch at a time.
async fn store() -> Option<Arc<PostgresStore>> {
    let store = support::builder()?
        .commits_in_flight(1)
        .connect()
        .await
        .expect("the test database");
    Some(Arc::new(store))
}

/// Commits each transition on a task of its own, all queued at once.
fn commit_all(
    store: &Arc<PostgresStore>,
    transitions: Vec<Transition>,
) -> Vec<JoinHandle<Result<(), StoreError>>> {
    transitions
        .into_iter()
        .map(|transition| {
            let store = Arc::clone(store);
            tokio::spawn(async move { store.commit(transition).await })
        })
        .collect()
}

async fn outcomes(commits: Vec<JoinHandle<Result<(), StoreError>>>) -> Vec<Result<(), StoreError>> {
    let mut outcomes = Vec::new();
    for commit in commits {
        outcomes.push(commit.await.expect("the commit task"));
    }
    outcomes
}

#[tokio::test]
async fn transitions_of_many_executions_share_a_statement_and_each_lands() {
    let Some(store) = store().await else { return };
    let mut steps = Vec::new();
    for i in 0..40u32 {
        let id = format!("e{i}");
        let fence = create(&*store, &id, &format!("order-{i}")).await;
        let mut checkpoint = checkpoint(&format!("s{i}"), Status::Running, None);
        checkpoint.retries = vec![i, 1];
        checkpoint.waiting = (i % 2 == 0).then(|| format!("timer-{i}"));
        steps.push(transition(
            &id,
            fence,
            events(1, 2 + u64::from(i % 3)),
            checkpoint,
        ));
    }
    let before = store.group_commits();
    let results = outcomes(commit_all(&store, steps.clone())).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    for step in &steps {
        let stored = store.execution(&step.execution).await.unwrap().unwrap();
        assert_eq!(stored.checkpoint, step.checkpoint);
        assert_eq!(stored.last_event_id, step.events.last().unwrap().id);
        assert_eq!(store.history(&step.execution).await.unwrap(), step.events);
    }
    let after = store.group_commits();
    assert_eq!(after.items - before.items, 40);
    assert!(
        after.batches - before.batches < 40,
        "40 queued transitions took {} statements",
        after.batches - before.batches
    );
}

#[tokio::test]
async fn a_batch_refuses_only_the_transitions_whose_guard_fails() {
    let Some(store) = store().await else { return };
    let mut steps = Vec::new();
    for id in ["good", "stale", "moved"] {
        let fence = create(&*store, id, &format!("order-{id}")).await;
        steps.push(transition(
            id,
            fence,
            events(1, 2),
            checkpoint("next", Status::Running, None),
        ));
    }
    // "moved" was written under its fence since its writer read it.
    store.commit(steps[2].clone()).await.unwrap();
    let moved_on = store.execution("moved").await.unwrap().unwrap();
    steps[1].fence += 1;
    steps[2].events = events(2, 1);
    steps[2].checkpoint = checkpoint("late", Status::Running, None);

    let before = store.group_commits();
    let results = outcomes(commit_all(&store, steps.clone())).await;
    assert_eq!(store.group_commits().batches - before.batches, 1);
    assert_eq!(results[0], Ok(()));
    assert_eq!(
        results[1],
        Err(StoreError::Fenced {
            execution: "stale".into(),
            held: steps[1].fence
        })
    );
    assert_eq!(
        results[2],
        Err(StoreError::HistoryMoved {
            execution: "moved".into(),
            follows: 1,
            ends_at: 2
        })
    );
    assert_eq!(store.history("good").await.unwrap(), events(1, 2));
    assert_eq!(store.history("stale").await.unwrap(), []);
    assert_eq!(store.history("moved").await.unwrap(), events(1, 2));
    assert_eq!(store.execution("moved").await.unwrap().unwrap(), moved_on);
}

#[tokio::test]
async fn a_transition_the_database_rejects_fails_alone() {
    let Some(store) = store().await else { return };
    let mut steps = Vec::new();
    for id in ["first", "broken", "last"] {
        let fence = create(&*store, id, &format!("order-{id}")).await;
        steps.push(transition(
            id,
            fence,
            events(1, 1),
            checkpoint("next", Status::Running, None),
        ));
    }
    // Not JSON: the statement that carries it fails as a whole.
    steps[1].checkpoint.state = "{not json".into();

    let results = outcomes(commit_all(&store, steps.clone())).await;
    assert_eq!(results[0], Ok(()));
    assert!(
        matches!(results[1], Err(StoreError::Database(_))),
        "{:?}",
        results[1]
    );
    assert_eq!(results[2], Ok(()));
    assert_eq!(store.history("first").await.unwrap(), events(1, 1));
    assert_eq!(store.history("broken").await.unwrap(), []);
    assert_eq!(store.history("last").await.unwrap(), events(1, 1));
}

#[tokio::test]
async fn two_transitions_of_one_execution_go_in_two_statements_in_order() {
    let Some(store) = store().await else { return };
    let fence = create(&*store, "e1", "order-1").await;
    let steps = vec![
        transition(
            "e1",
            fence,
            events(1, 1),
            checkpoint("a", Status::Running, None),
        ),
        transition(
            "e1",
            fence,
            events(2, 2),
            checkpoint("b", Status::Running, None),
        ),
    ];
    let before = store.group_commits();
    let results = outcomes(commit_all(&store, steps)).await;
    assert_eq!(results, [Ok(()), Ok(())]);
    assert_eq!(store.group_commits().batches - before.batches, 2);
    assert_eq!(store.history("e1").await.unwrap(), events(1, 3));
    let stored = store.execution("e1").await.unwrap().unwrap();
    assert_eq!(stored.checkpoint, checkpoint("b", Status::Running, None));
}

#[tokio::test]
async fn starts_share_a_statement_and_a_taken_name_finds_the_execution() {
    let Some(store) = store().await else { return };
    // Taken before the batch, and twice within it.
    create(&*store, "old", "order-taken").await;
    let mut starts = Vec::new();
    for i in 0..30 {
        starts.push(new(&format!("e{i}"), &format!("order-{i}"), "Order"));
    }
    starts.push(new("late", "order-taken", "Order"));
    starts.push(new("twin-1", "order-twin", "Order"));
    starts.push(new("twin-2", "order-twin", "Order"));
    let before = store.group_starts();
    let creating: Vec<_> = starts
        .into_iter()
        .map(|start| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.create(start, "w1", at(30)).await })
        })
        .collect();
    let mut created = Vec::new();
    for start in creating {
        created.push(start.await.expect("the start task").expect("starts"));
    }
    for (i, outcome) in created.iter().take(30).enumerate() {
        assert_eq!(outcome, &Created::New { fence: 1 }, "start {i}");
        let stored = store.execution(&format!("e{i}")).await.unwrap().unwrap();
        assert_eq!(stored.name, format!("order-{i}"));
    }
    let found = |outcome: &Created| match outcome {
        Created::Existing(existing) => existing.id.clone(),
        Created::New { .. } => "new".to_owned(),
    };
    assert_eq!(found(&created[30]), "old");
    assert_eq!(created[31], Created::New { fence: 1 });
    assert_eq!(found(&created[32]), "twin-1");
    let after = store.group_starts();
    assert_eq!(after.items - before.items, 33);
    // The second twin waited for the next statement.
    assert_eq!(after.batches - before.batches, 2);
}
