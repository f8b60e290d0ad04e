//! A full disk: the handle fails with a typed error, and the execution
//! resumes by itself once there is room.

use super::*;

async fn inflate(_cx: Ctx<'_, Ctx2>, n: u64) -> Result<String, Fault> {
    Ok(n.to_string().repeat(32 * 1024))
}

// A wait's delay function takes a reference to the state's data, a String here.
#[allow(clippy::ptr_arg)]
fn measure(text: &String) -> Duration {
    Duration::from_secs(text.len() as u64 / 1024)
}

#[workflow(context = Ctx2)]
#[derive(Serialize, Deserialize)]
pub enum Bulky {
    #[start]
    #[task(inflate, next = Cool)]
    Grow(u64),
    #[wait(delay = measure, next = Done)]
    Cool(String),
    #[succeed]
    Done(String),
}

#[tokio::test(start_paused = true)]
async fn a_full_disk_fails_the_handle_with_a_typed_error_and_the_execution_resumes_when_there_is_room()
 {
    let setup = Setup::new();
    let store = Arc::new(SqliteStore::open(&setup.path).unwrap());
    let engine = Engine::builder(setup.world.clone())
        .store(Arc::clone(&store))
        .clock(setup.clock)
        .build();
    engine.register::<Bulky>();
    // Room for the start, not for the task's 32 KiB output.
    store.set_max_size(96 * 1024).await.unwrap();
    let handle = engine.start::<Bulky>("bulky", 7).await.unwrap();
    let id = handle.id().to_owned();
    assert!(
        matches!(
            handle.await,
            Err(ExecutionError::Store(workflow::store::StoreError::Full(_)))
        ),
        "the handle says why"
    );
    let stopped = engine.describe(&id).await.unwrap().unwrap();
    assert_eq!(
        (stopped.status, stopped.state.as_str()),
        (Status::Running, "Grow")
    );

    // Room again: the engine takes the execution up by itself, from its
    // last checkpoint, at its next look for due work.
    store.set_max_size(64 * 1024 * 1024).await.unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(3600),
        engine.handle::<Bulky>(id.clone()),
    )
    .await
    .expect("resumed within the hour")
    .unwrap();
    assert_eq!(output, "7".repeat(32 * 1024));
    let history = engine.history(&id).await.unwrap();
    assert_gapless(&history);
    assert_eq!(count(&history, EventKind::TaskStateEntered), 1);
    assert_eq!(count(&history, EventKind::ExecutionSucceeded), 1);
}
