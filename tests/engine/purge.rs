// Retention: `engine.purge(age)` deletes the executions that ended longer
// ago than `age` on the engine's clock, in batches, and never a running one.
// Included at the end of suite.rs, so it runs on every store.

#[tokio::test(start_paused = true)]
async fn purge_deletes_what_ended_long_enough_ago_and_nothing_running() {
    let engine = engine(&[]);
    let old = engine.start::<Order>("old", 3).await.unwrap();
    let old_id = old.id().to_owned();
    assert_eq!(old.await, Ok(6));
    // Waits an hour in Hold: running until then.
    let held = engine.start::<Order>("held", 20).await.unwrap();
    tokio::time::sleep(Duration::from_secs(30 * 60)).await;
    let recent = engine.start::<Order>("recent", 4).await.unwrap();
    let recent_id = recent.id().to_owned();
    assert_eq!(recent.await, Ok(8));

    // "old" ended 30 minutes ago, "recent" now, and "held" has run for 30
    // minutes: a purge of what ended over 20 minutes ago takes "old" only.
    assert_eq!(engine.purge(Duration::from_secs(20 * 60)).await, Ok(1));
    assert!(engine.describe(&old_id).await.unwrap().is_none());
    let gone = workflow::store::StoreError::NotFound(old_id.clone());
    assert_eq!(
        engine.history(&old_id).await,
        Err(EngineError::Store(gone.clone()))
    );
    assert_eq!(
        engine.handle::<Order>(old_id.clone()).await,
        Err(ExecutionError::Store(gone))
    );
    let kept = engine.history(&recent_id).await.unwrap();
    assert_eq!(kept.last().unwrap().kind, EventKind::ExecutionSucceeded);
    let described = held.describe().await.unwrap().unwrap();
    assert_eq!(described.status, Status::Running);
    // The purged name is free: a start under it is a new execution.
    let again = engine.start::<Order>("old", 5).await.unwrap();
    assert_ne!(again.id(), old_id);
    assert_eq!(again.await, Ok(10));

    // Once "held" has ended, a purge of everything that has ended takes
    // all three.
    assert_eq!(held.await, Ok(40));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(engine.purge(Duration::ZERO).await, Ok(3));
    assert!(engine.list(None, None).await.unwrap().is_empty());
    assert_eq!(engine.purge(Duration::ZERO).await, Ok(0));
}

#[tokio::test(start_paused = true)]
async fn purge_deletes_in_batches_until_one_comes_back_short() {
    let engine = engine(&[]);
    // More than the store's batch of 1,000: all go, so it took two.
    let mut handles = Vec::new();
    for n in 0..1_005u64 {
        handles.push(engine.start::<Order>(format!("o{n}"), n % 6).await.unwrap());
    }
    for (n, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.await, Ok((n as u64 % 6) * 2));
    }
    let held = engine.start::<Order>("held", 20).await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(engine.purge(Duration::from_secs(30)).await, Ok(1_005));
    let left = engine.list(None, None).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, held.id());
}
