//! Callback tasks across a crash: an answer that comes while the process
//! is down, and a token handed out before the crash, each reach the task
//! once another engine recovers the execution; a task parked on its
//! callback in one process is answered in another.

use workflow::PendingFilter;

use super::*;

/// Hands its callback token out (into the world's keys) and waits for the
/// answer, which it adds to its input.
async fn await_approval(cx: Ctx<'_, Ctx2>, n: u64) -> Result<u64, Fault> {
    cx.0.keys.lock().unwrap().push(cx.callback_token());
    cx.callback::<u64>()
        .await
        .map(|bonus| n + bonus)
        .map_err(|_| Fault::Flaky)
}

#[workflow(context = Ctx2)]
#[derive(Serialize, Deserialize)]
pub enum Approval {
    #[start]
    #[task(await_approval, next = Done)]
    Waiting(u64),
    #[succeed]
    Done(u64),
}

#[tokio::test(start_paused = true)]
async fn a_callback_completed_while_the_process_is_down_is_found_after_recovery() {
    let setup = Setup::new();
    let first = setup.engine();
    first.register::<Approval>();
    let id = first
        .start::<Approval>("approve", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let token = setup.world.0.keys.lock().unwrap()[0].clone();
    first.halt();

    let second = setup.engine();
    second.register::<Approval>();
    // The answer comes in before the workflow is recovered.
    second.complete_task(&token, 41u64).await.unwrap();
    second.recover().await.unwrap();
    assert_eq!(second.handle::<Approval>(id).await, Ok(42));
    let keys = setup.world.0.keys.lock().unwrap().clone();
    assert_eq!(
        keys,
        [token.clone(), token],
        "the same token after the restart"
    );
}

#[tokio::test(start_paused = true)]
async fn a_token_handed_out_before_a_crash_answers_the_task_after_recovery() {
    let setup = Setup::new();
    let first = setup.engine();
    first.register::<Approval>();
    let handle = first.start::<Approval>("approve", 1).await.unwrap();
    let id = handle.id().to_owned();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let token = setup.world.0.keys.lock().unwrap()[0].clone();
    let before = first.pending_callbacks(PendingFilter::new()).await.unwrap();
    assert_eq!(before.callbacks.len(), 1);
    assert_eq!(before.callbacks[0].token, token);
    first.halt();

    let second = setup.engine();
    second.register::<Approval>();
    second.recover().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // The task had parked: the execution waits in the store, not in the
    // recovering process, and its task does not run until its answer.
    assert_eq!(second.executions_in_memory(), 0);
    let keys = setup.world.0.keys.lock().unwrap().clone();
    assert_eq!(
        keys,
        std::slice::from_ref(&token),
        "parked, the task does not run again"
    );
    let after = second
        .pending_callbacks(PendingFilter::new())
        .await
        .unwrap();
    assert_eq!(
        after.callbacks, before.callbacks,
        "the same token, waiting since"
    );
    second.complete_task(&token, 41u64).await.unwrap();
    assert_eq!(second.handle::<Approval>(id).await, Ok(42));
    let keys = setup.world.0.keys.lock().unwrap().clone();
    assert_eq!(keys, [token.clone(), token], "the answer ran it again");
}

#[workflow(context = Ctx2)]
#[derive(Serialize, Deserialize)]
pub enum ApprovalWithin {
    #[start]
    #[task(await_approval, next = Done, timeout = "1h")]
    Waiting(u64),
    #[succeed]
    Done(u64),
}

#[tokio::test(start_paused = true)]
async fn a_parked_callbacks_deadline_is_kept_in_the_store_across_a_restart() {
    let setup = Setup::new();
    let first = setup.engine();
    first.register::<ApprovalWithin>();
    let id = first
        .start::<ApprovalWithin>("approve", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.halt();

    let second = setup.engine();
    second.register::<ApprovalWithin>();
    second.recover().await.unwrap();
    let waited = tokio::time::Instant::now();
    let error = second.handle::<ApprovalWithin>(id).await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "States.Timeout");
    // Timed out an hour after the attempt started, not after the restart,
    // and without running the task again.
    assert_eq!(waited.elapsed(), Duration::from_secs(3599));
    assert_eq!(setup.world.0.keys.lock().unwrap().len(), 1);
}
