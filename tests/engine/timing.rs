// Waits, timeouts, heartbeats, panics, seeded jitter and parking, in the
// history. Included at the end of suite.rs, so it runs on every store.

// Waits computed from the input, timeouts and heartbeats, in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    at: std::time::SystemTime,
    pause_secs: u64,
}

fn at(plan: &Plan) -> std::time::SystemTime {
    plan.at
}

fn pause(plan: &Plan) -> Duration {
    Duration::from_secs(plan.pause_secs)
}

fn seconds(plan: Plan) -> u64 {
    plan.pause_secs
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Timed {
    #[start]
    #[wait(until = at, next = Pause)]
    Until(Plan),
    #[wait(delay = pause, next = Count)]
    Pause(Plan),
    #[pass(seconds, next = Hang)]
    Count(Plan),
    #[task(hang, next = Done, timeout = "30s", heartbeat = "5s")]
    #[retry(on = [heartbeat_timeout], max_attempts = 1, interval = "1s")]
    Hang(u64),
    #[succeed]
    Done(u64),
}

/// Sleeps `n` seconds without a heartbeat.
async fn hang(_cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    tokio::time::sleep(Duration::from_secs(n)).await;
    Ok(n)
}

fn timed_events(history: &[Event]) -> Vec<(&'static str, Option<&str>, u64)> {
    let start = history[0].timestamp;
    history
        .iter()
        .map(|e| {
            let at = e.timestamp.duration_since(start).unwrap().as_secs();
            (e.kind.name(), e.state.as_deref(), at)
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn until_and_delay_waits_then_a_silent_task_times_out_on_its_heartbeat() {
    let engine = engine(&[]);
    engine.register::<Timed>();
    let plan = Plan {
        at: std::time::SystemTime::now() + Duration::from_secs(100),
        pause_secs: 7,
    };
    let handle = engine.start::<Timed>("timed", plan).await.unwrap();
    let id = handle.id().to_owned();
    let error = handle.await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "States.HeartbeatTimeout");
    let history = engine.history(&id).await.unwrap();
    let events = timed_events(&history);
    // `until` is a wall-clock time taken just before the start, so the
    // first wait ends within a second of 100 s on the engine's clock.
    let until_exit = events.iter().find(|e| e.0 == "WaitStateExited").unwrap().2;
    assert!((99..=100).contains(&until_exit), "{until_exit}");
    let rest: Vec<_> = events
        .iter()
        .skip_while(|e| e.0 != "WaitStateExited")
        .map(|&(kind, state, at)| (kind, state, at - until_exit))
        .collect();
    assert_eq!(
        rest,
        [
            ("WaitStateExited", Some("Until"), 0),
            ("WaitStateEntered", Some("Pause"), 0),
            ("WaitStateExited", Some("Pause"), 7),
            ("PassStateEntered", Some("Count"), 7),
            ("PassStateExited", Some("Count"), 7),
            ("TaskStateEntered", Some("Hang"), 7),
            ("TaskScheduled", Some("Hang"), 7),
            ("TaskStarted", Some("Hang"), 7),
            ("TaskTimedOut", Some("Hang"), 12),
            ("TaskScheduled", Some("Hang"), 13),
            ("TaskStarted", Some("Hang"), 13),
            ("TaskTimedOut", Some("Hang"), 18),
            ("ExecutionFailed", None, 18),
        ]
    );
}

#[workflow(context = Ops, timeout = "10m")]
#[derive(Serialize, Deserialize)]
pub enum Bounded {
    #[start]
    #[wait(duration = "1h", next = Done)]
    Hold(u64),
    #[succeed]
    Done(u64),
}

#[tokio::test(start_paused = true)]
async fn the_execution_timeout_ends_the_history_with_execution_timed_out() {
    let engine = engine(&[]);
    engine.register::<Bounded>();
    let handle = engine.start::<Bounded>("bounded", 1).await.unwrap();
    let id = handle.id().to_owned();
    assert_eq!(
        handle.await,
        Err(ExecutionError::TimedOut {
            after: Duration::from_secs(600)
        })
    );
    let history = engine.history(&id).await.unwrap();
    let events = timed_events(&history);
    assert_eq!(
        events,
        [
            ("ExecutionStarted", None, 0),
            ("WaitStateEntered", Some("Hold"), 0),
            ("ExecutionTimedOut", None, 600),
        ]
    );
    assert_eq!(
        engine.describe(&id).await.unwrap().unwrap().status,
        Status::TimedOut
    );
    // Read back from the store (a handle made after the end, as in another
    // process), the outcome is the same one.
    assert_eq!(
        engine.handle::<Bounded>(id.clone()).await,
        Err(ExecutionError::TimedOut {
            after: Duration::from_secs(600)
        })
    );
}

// A panic outside a handler fails the execution; it does not hang it.
#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Panicky {
    #[start]
    #[choice(explode, next = [Done])]
    Pick(u64),
    #[succeed]
    Done(u64),
}

fn explode(_n: u64) -> panicky::Pick {
    panic!("the choice function broke")
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_a_choice_function_fails_the_execution() {
    let engine = engine(&[]);
    engine.register::<Panicky>();
    let handle = engine.start::<Panicky>("boom", 1).await.unwrap();
    let id = handle.id().to_owned();
    let error = handle.await.unwrap_err();
    assert_eq!(
        error,
        ExecutionError::Crashed {
            message: "the choice function broke".into()
        }
    );
    let described = engine.describe(&id).await.unwrap().unwrap();
    assert_eq!(described.status, Status::Failed);
    let history = engine.history(&id).await.unwrap();
    assert_linked(&history);
    assert_eq!(history.last().unwrap().kind, EventKind::ExecutionFailed);
}

// The same seed and execution name give the same jitter, engine after engine.
#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Jittery {
    #[start]
    #[task(work, next = Done)]
    #[retry(on = [any], max_attempts = 5, interval = "10s", jitter = full)]
    Work(u64),
    #[succeed]
    Done(u64),
}

#[tokio::test(start_paused = true)]
async fn a_seed_repeats_the_jitter_of_an_execution_with_the_same_name() {
    let run = |seed: u64| async move {
        let engine = builder(Ops {
            faults: Mutex::new(vec![Fault::Busy; 4]),
            ..Ops::default()
        })
        .seed(seed)
        .build();
        engine.register::<Jittery>();
        let handle = engine.start::<Jittery>("same-name", 1).await.unwrap();
        let id = handle.id().to_owned();
        handle.await.unwrap();
        let history = engine.history(&id).await.unwrap();
        let starts: Vec<_> = history
            .iter()
            .filter(|e| e.kind == EventKind::TaskStarted)
            .map(|e| e.timestamp)
            .collect();
        starts
            .windows(2)
            .map(|w| w[1].duration_since(w[0]).unwrap())
            .collect::<Vec<_>>()
    };
    let first = run(42).await;
    assert_eq!(first.len(), 4);
    assert_eq!(run(42).await, first);
    assert_ne!(run(7).await, first);
}

#[tokio::test(start_paused = true)]
async fn long_waits_park_out_of_memory_and_resume_on_time() {
    let engine = engine(&[]);
    let mut handles = Vec::new();
    for n in 0..1000u64 {
        // Inputs over 5 double past 10: Route sends them to the hour-long Hold.
        let input = 6 + n % 5;
        handles.push(engine.start::<Order>(format!("p{n}"), input).await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(engine.active_tasks(), 0, "parked: no task, no future, per execution");
    let waiting = engine
        .list(Some("Order"), Some(Status::Running))
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1000);
    assert!(
        waiting
            .iter()
            .all(|d| d.state == "Hold" && d.wake_at.is_some())
    );
    let id = handles[0].id().to_owned();
    for (n, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.await, Ok((6 + n as u64 % 5) * 2));
    }
    let history = engine.history(&id).await.unwrap();
    assert_linked(&history);
    let at = |kind| first_at(&history, kind);
    assert_eq!(
        at(EventKind::WaitStateExited)
            .duration_since(at(EventKind::WaitStateEntered))
            .unwrap(),
        Duration::from_secs(3600),
        "resumed by the timer exactly when due"
    );
}

#[tokio::test(start_paused = true)]
async fn the_engine_forgets_parked_and_ended_executions_nobody_awaits() {
    let engine = engine(&[]);
    let mut parked = Vec::new();
    for n in 0..200u64 {
        // Inputs over 5 park in the hour-long Hold; the others end at once.
        let handle = engine.start::<Order>(format!("f{n}"), n % 10).await.unwrap();
        if n % 10 > 5 {
            parked.push(handle);
        } else {
            assert_eq!(handle.await, Ok((n % 10) * 2));
        }
    }
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(engine.active_tasks(), 0);
    assert_eq!(engine.executions_in_memory(), 0, "parked or ended, unawaited");

    // A handle that gives up waiting leaves nothing behind either.
    let id = parked[0].id().to_owned();
    let gave_up =
        tokio::time::timeout(Duration::from_secs(1), engine.handle::<Order>(id.clone())).await;
    assert!(gave_up.is_err(), "still parked");
    assert_eq!(engine.executions_in_memory(), 0);

    // One that waits is kept, and gets the outcome when the timer resumes it.
    let waiter = tokio::spawn(std::future::IntoFuture::into_future(
        engine.handle::<Order>(id),
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(engine.executions_in_memory(), 1, "awaited while parked");
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(waiter.await.unwrap(), Ok(12));
    for handle in parked {
        handle.await.unwrap();
    }
    assert_eq!(engine.executions_in_memory(), 0, "all ended");
}
