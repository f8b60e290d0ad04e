// Stopping an engine (gracefully at the next checkpoint, or at once) and
// addressing executions by name. Included at the end of suite.rs, so it
// runs on every store.

// Stopping an engine: gracefully at the next checkpoint, or at once.
async fn nap(_cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(n + 1)
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum TwoNaps {
    #[start]
    #[task(nap, next = Second)]
    First(u64),

    #[task(nap, next = Done)]
    Second(u64),

    #[succeed]
    Done(u64),
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_a_running_step_reach_its_checkpoint_and_lets_the_execution_go() {
    let engine = engine(&[]);
    engine.register::<TwoNaps>();
    let handle = engine.start::<TwoNaps>("naps", 1).await.unwrap();
    let id = handle.id().to_owned();
    let waiter = tokio::spawn(handle.into_future());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = engine.shutdown(Duration::from_secs(10)).await.unwrap();
    assert_eq!(report.cut_short, 0, "the step finished within the grace period");
    assert_eq!(engine.active_tasks(), 0);
    // The first nap's result is written, and the execution waits in the
    // store at the second for whoever takes it next.
    let stored = engine.describe(&id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.state.as_str()), (Status::Running, "Second"));
    let history = engine.history(&id).await.unwrap();
    assert!(
        history
            .iter()
            .any(|e| e.kind == workflow::EventKind::TaskSucceeded && e.state.as_deref() == Some("First"))
    );
    assert_eq!(waiter.await.unwrap(), Err(ExecutionError::ShuttingDown));
    assert_eq!(
        engine.start::<TwoNaps>("later", 1).await.err(),
        Some(EngineError::Stopped)
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_cuts_short_a_step_that_outlasts_the_grace_period() {
    let engine = engine(&[]);
    engine.register::<TwoNaps>();
    let handle = engine.start::<TwoNaps>("naps", 1).await.unwrap();
    let id = handle.id().to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let report = engine.shutdown(Duration::from_millis(500)).await.unwrap();
    assert_eq!(report.cut_short, 1);
    let stored = engine.describe(&id).await.unwrap().unwrap();
    assert_eq!((stored.status, stored.state.as_str()), (Status::Running, "First"));
    assert_eq!(handle.await, Err(ExecutionError::ShuttingDown));
}

#[tokio::test(start_paused = true)]
async fn halt_resolves_waiting_handles_and_refuses_new_starts() {
    let engine = engine(&[]);
    engine.register::<TwoNaps>();
    let handle = engine.start::<TwoNaps>("naps", 1).await.unwrap();
    let waiter = tokio::spawn(handle.into_future());
    tokio::time::sleep(Duration::from_millis(500)).await;
    engine.halt();
    assert_eq!(waiter.await.unwrap(), Err(ExecutionError::Halted));
    assert_eq!(
        engine.start::<TwoNaps>("later", 1).await.err(),
        Some(EngineError::Stopped)
    );
    assert_eq!(engine.recover().await.err(), Some(EngineError::Stopped));
}

#[tokio::test(start_paused = true)]
async fn executions_are_addressed_by_the_name_they_were_started_under() {
    let engine = engine(&[]);
    let first = engine.start::<Order>("order-7", 5).await.unwrap();
    assert!(first.is_new());
    let again = engine.start::<Order>("order-7", 5).await.unwrap();
    assert!(!again.is_new(), "found, not created");
    assert_eq!(again.id(), first.id());
    let described = engine.describe("order-7").await.unwrap().unwrap();
    assert_eq!(described.id, first.id());
    // Its workflow by name and by path, as the store keeps them.
    assert_eq!(described.workflow, "Order");
    assert_eq!(described.path.as_deref(), Some(<Order as Workflow>::path()));
    assert_eq!(
        engine.history("order-7").await.unwrap(),
        engine.history(first.id()).await.unwrap()
    );
    let found = engine.find_handle::<Order>("order-7").await.unwrap().unwrap();
    assert_eq!(found.id(), first.id());
    assert_eq!(found.await, Ok(10));
    assert!(engine.find_handle::<Order>("order-8").await.unwrap().is_none());
    assert_eq!(engine.describe("order-8").await.unwrap(), None);
    assert!(matches!(
        engine.history("order-8").await,
        Err(EngineError::Store(workflow::store::StoreError::NotFound(_)))
    ));
    // Cancelled by name: 6 doubles to 12, which waits an hour.
    let waiting = engine.start::<Order>("order-9", 6).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    engine.cancel_execution("order-9").await.unwrap();
    assert_eq!(waiting.await, Err(ExecutionError::Aborted));
}
