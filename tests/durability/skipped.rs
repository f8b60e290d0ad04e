//! What recovery leaves alone and reports, while the rest resume: an
//! execution of another version (parked, or failed if the policy says so),
//! one whose state does not read, one of a workflow not registered, and a
//! row that is corrupt.

use workflow::RecoveryError;

use super::*;

/// Runs `sql` on the setup's file, behind the store's back.
fn tamper(setup: &Setup, sql: &str) {
    let raw = rusqlite::Connection::open(&setup.path).unwrap();
    raw.execute(sql, []).unwrap();
}

#[tokio::test(start_paused = true)]
async fn another_version_is_parked_untouched_by_default() {
    let setup = Setup::new();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(60)).await;
    first.halt();
    tamper(&setup, "UPDATE executions SET version = 'older'");
    let second = setup.engine();
    let recovery = second.recover().await.unwrap();
    assert_eq!(recovery.resumed, Vec::<String>::new());
    assert!(matches!(
        &recovery.skipped[..],
        [RecoveryError::VersionMismatch { stored, .. }] if stored == "older"
    ));
    let parked = second.describe(&id).await.unwrap().unwrap();
    assert_eq!(
        (parked.status, parked.state.as_str()),
        (Status::Running, "Hold")
    );
    let history = second.history(&id).await.unwrap();
    assert_eq!(history.last().unwrap().kind, EventKind::WaitStateEntered);
}

#[tokio::test(start_paused = true)]
async fn another_version_can_be_failed_instead() {
    let setup = Setup::new();
    let first = setup.engine();
    let id = first
        .start::<Journey>("trip", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(60)).await;
    first.halt();
    tamper(&setup, "UPDATE executions SET version = 'older'");
    let second = setup.engine_with(VersionPolicy::Fail);
    second.recover().await.unwrap();
    let failed = second.describe(&id).await.unwrap().unwrap();
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.error.unwrap().name, "States.VersionMismatch");
    let history = second.history(&id).await.unwrap();
    assert_gapless(&history);
    assert_eq!(history.last().unwrap().kind, EventKind::ExecutionFailed);
    let outcome = second.handle::<Journey>(id).await.unwrap_err();
    assert_eq!(outcome.failure().unwrap().error, "States.VersionMismatch");
}

#[tokio::test(start_paused = true)]
async fn unreadable_and_unregistered_executions_are_reported_and_the_rest_resume() {
    let setup = Setup::new();
    let first = setup.engine();
    let broken = first
        .start::<Journey>("broken", 1)
        .await
        .unwrap()
        .id()
        .to_owned();
    let alien = first
        .start::<Journey>("alien", 2)
        .await
        .unwrap()
        .id()
        .to_owned();
    let fine = first
        .start::<Journey>("fine", 3)
        .await
        .unwrap()
        .id()
        .to_owned();
    tokio::time::sleep(Duration::from_secs(60)).await;
    first.halt();
    tamper(
        &setup,
        &format!("UPDATE executions SET state = '{{\"Nowhere\":1}}' WHERE id = '{broken}'"),
    );
    tamper(
        &setup,
        &format!("UPDATE executions SET workflow = 'Alien' WHERE id = '{alien}'"),
    );
    let second = setup.engine();
    let recovery = second.recover().await.unwrap();
    assert_eq!(recovery.resumed, [fine.as_str()]);
    assert_eq!(recovery.skipped.len(), 2);
    assert!(
        recovery.skipped.iter().any(
            |p| matches!(p, RecoveryError::Unreadable { execution, .. } if *execution == broken)
        )
    );
    assert!(
        recovery.skipped.iter().any(
            |p| matches!(p, RecoveryError::Unregistered { workflow, .. } if workflow == "Alien")
        )
    );
    assert_eq!(second.handle::<Journey>(fine).await, Ok(40));
}

#[tokio::test(start_paused = true)]
async fn a_corrupt_row_is_reported_and_the_other_executions_recover_and_finish() {
    let setup = Setup::new();
    let first = setup.engine();
    let mut ids = Vec::new();
    for (name, input) in [("bad", 1), ("fine", 3)] {
        let handle = first.start::<Journey>(name, input).await.unwrap();
        ids.push(handle.id().to_owned());
    }
    let [bad, fine] = <[String; 2]>::try_from(ids).unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    first.halt();
    tamper(
        &setup,
        &format!("UPDATE executions SET retries = 'not json' WHERE id = '{bad}'"),
    );
    let second = setup.engine();
    let recovery = second.recover().await.unwrap();
    assert_eq!(recovery.resumed, [fine.as_str()]);
    assert!(
        matches!(
            &recovery.skipped[..],
            [RecoveryError::Unreadable { execution, detail }]
                if *execution == bad && detail.contains("retry counters")
        ),
        "{recovery:?}"
    );
    let listed = second.list(None, None).await.unwrap();
    assert_eq!(listed.iter().map(|d| &d.id).collect::<Vec<_>>(), [&fine]);
    let described = second.describe(&bad).await;
    assert!(
        matches!(
            &described,
            Err(workflow::EngineError::Store(workflow::store::StoreError::Corrupt {
                execution,
                what: "retry counters",
                ..
            })) if *execution == bad
        ),
        "{described:?}"
    );
    // Its history is intact, and still tells what it did.
    let history = second.history(&bad).await.unwrap();
    assert_gapless(&history);
    assert_eq!(history.last().unwrap().kind, EventKind::WaitStateEntered);
    assert_eq!(second.handle::<Journey>(fine).await, Ok(40));
}
