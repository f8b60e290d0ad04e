//! A corrupt execution row: each store's own tests make one with raw SQL
//! (the ways a row can go bad differ by database), and these functions say
//! what every store must then do.

use workflow_runtime::Status;
use workflow_runtime::store::{Filter, Store, StoreError};

use super::{at, checkpoint, claim, create, events, ids, sorted, transition};

/// Three running executions with a history of two events each: `good-1`,
/// `bad` (whose row the caller corrupts next) and `good-2`.
pub async fn three_executions(store: &dyn Store) {
    for id in ["good-1", "bad", "good-2"] {
        let fence = create(store, id, id).await;
        store
            .commit(transition(
                id,
                fence,
                events(1, 2),
                checkpoint("a", Status::Running, None),
            ))
            .await
            .unwrap();
    }
}

/// With `bad`'s row corrupt in the column `what`: lists leave it out, and
/// claims hand it back apart, and both serve the others; reading it by id
/// is a typed error naming it and the column. Its history, which is
/// intact, still reads.
pub async fn a_corrupt_row_is_left_out_and_the_others_serve(store: &dyn Store, what: &str) {
    let listed = store.list(Filter::default()).await;
    assert_eq!(ids(listed.unwrap()), ["good-1", "good-2"], "{what}");
    let claimed = store.claim(claim("w2", at(0), true)).await.unwrap();
    let is_bad = |error: &StoreError| matches!(error, StoreError::Corrupt { execution, what: w, .. } if execution == "bad" && w == &what);
    // An ended one is never claimed; a running one is, and reported.
    if what != "status" {
        assert!(
            matches!(&claimed.corrupt[..], [error] if is_bad(error)),
            "{what}: {claimed:?}"
        );
    }
    let claimed = claimed.executions;
    let fences: Vec<(String, u64)> = claimed.iter().map(|e| (e.id.clone(), e.fence)).collect();
    assert_eq!(sorted(ids(claimed)), ["good-1", "good-2"], "{what}");
    let read = store.execution("bad").await;
    assert!(
        matches!(&read, Err(error) if is_bad(error)),
        "{what}: {read:?}"
    );
    assert_eq!(store.history("bad").await.unwrap(), events(1, 2), "{what}");
    // The others go on to the end.
    for (id, fence) in fences {
        store
            .commit(transition(
                &id,
                fence,
                events(3, 1),
                checkpoint("done", Status::Succeeded, None),
            ))
            .await
            .unwrap();
    }
    let succeeded = Filter {
        status: Some(Status::Succeeded),
        ..Filter::default()
    };
    let listed = store.list(succeeded).await.unwrap();
    assert_eq!(ids(listed), ["good-1", "good-2"], "{what}");
}
