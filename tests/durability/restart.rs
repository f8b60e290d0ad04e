//! A restart in the middle of a wait, a task, a retry's backoff: the
//! execution goes on from its last checkpoint as if nothing had happened,
//! and a start after a restart finds the execution already there.

use tokio::time::Instant;

use super::*;

#[tokio::test(start_paused = true)]
async fn a_restart_mid_wait_sleeps_only_what_is_left() {
    let setup = Setup::new();
    let started = Instant::now();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(600)).await;
    first.halt();

    let second = setup.engine();
    let recovery = second.recover().await.unwrap();
    assert_eq!(recovery.resumed, [id.as_str()]);
    assert_eq!(recovery.skipped, []);
    let output = second.handle::<Journey>(id.clone()).await.unwrap();
    assert_eq!(output, 20);
    // 1 h wait + 10 min task + 1 h backoff, as if nothing had happened.
    assert_eq!(started.elapsed(), Duration::from_secs(3600 + 600 + 3600));
    let history = second.history(&id).await.unwrap();
    assert_gapless(&history);
    assert_eq!(count(&history, EventKind::WaitStateEntered), 1);
    assert_eq!(count(&history, EventKind::WaitStateExited), 1);
    assert_eq!(count(&history, EventKind::ExecutionSucceeded), 1);
    // A timer coming due after a restart is no resumption mid-state.
    assert_eq!(count(&history, EventKind::ExecutionResumed), 0);
}

#[tokio::test(start_paused = true)]
async fn a_task_running_at_the_crash_runs_again_with_the_same_key() {
    let setup = Setup::new();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    // Past the wait, five minutes into the ten-minute task.
    tokio::time::sleep(Duration::from_secs(3600 + 300)).await;
    assert_eq!(setup.world.0.keys.lock().unwrap().len(), 1);
    first.halt();

    let second = setup.engine();
    second.recover().await.unwrap();
    assert_eq!(second.handle::<Journey>(id.clone()).await, Ok(20));
    let keys = setup.world.0.keys.lock().unwrap().clone();
    assert_eq!(
        keys.len(),
        2,
        "at least once: the interrupted attempt ran again"
    );
    assert_eq!(keys[0], keys[1], "with the same idempotency key");
    let history = second.history(&id).await.unwrap();
    assert_gapless(&history);
    assert_eq!(
        count(&history, EventKind::TaskStateEntered),
        2,
        "Work and Retry, once each"
    );
    assert_eq!(count(&history, EventKind::TaskStateExited), 2);
    // The restart is visible: the task's scheduling is recorded again,
    // after the event that says the execution was resumed.
    let kinds: Vec<EventKind> = history.iter().map(|e| e.kind).collect();
    let resumed = kinds
        .iter()
        .position(|&k| k == EventKind::ExecutionResumed)
        .expect("an ExecutionResumed event");
    assert_eq!(count(&history, EventKind::ExecutionResumed), 1);
    assert_eq!(
        kinds[resumed + 1..resumed + 3],
        [EventKind::TaskScheduled, EventKind::TaskStarted]
    );
}

#[tokio::test(start_paused = true)]
async fn a_retry_backoff_survives_a_restart_with_its_counters() {
    let setup = Setup::new();
    let started = Instant::now();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    // Wait (1 h) and task (10 min) done, flaky failed once: 20 min into
    // its 1 h backoff.
    tokio::time::sleep(Duration::from_secs(3600 + 600 + 1200)).await;
    let before = first.describe(&id).await.unwrap().unwrap();
    assert_eq!(before.state, "Retry");
    assert!(before.wake_at.is_some(), "the backoff is a stored deadline");
    first.halt();

    let second = setup.engine();
    second.recover().await.unwrap();
    assert_eq!(second.handle::<Journey>(id).await, Ok(20));
    assert_eq!(*setup.world.0.attempts.lock().unwrap(), [1, 2]);
    assert_eq!(started.elapsed(), Duration::from_secs(3600 + 600 + 3600));
}

#[tokio::test(start_paused = true)]
async fn a_start_after_a_restart_finds_the_existing_execution() {
    let setup = Setup::new();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    first.halt();
    let second = setup.engine();
    second.recover().await.unwrap();
    let again = second.start::<Journey>("trip", 1).await.unwrap();
    assert_eq!(again.id(), id);
    let conflict = second.start::<Journey>("trip", 2).await.err();
    assert!(matches!(
        conflict,
        Some(workflow::EngineError::NameConflict { .. })
    ));
    assert_eq!(again.await, Ok(20));
}
