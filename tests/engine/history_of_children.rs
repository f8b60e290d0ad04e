// Children in the parent's history: branches and map items, their starts
// and ends, and a failed branch aborting its sibling.
// Included at the end of suite.rs, so it runs on every store.

// Children in the parent's history: branches and map items.
#[workflow(context = Ops)]
pub enum FailsAfterOne {
    #[start]
    #[task(fail_after_one, next = Done)]
    Work(u64),
    #[succeed]
    Done(u64),
}

#[workflow(context = Ops)]
pub enum TakesTen {
    #[start]
    #[task(take_ten, next = Done)]
    Work(u64),
    #[succeed]
    Done(u64),
}

async fn fail_after_one(_cx: Ctx<'_, Ops>, _n: u64) -> Result<u64, Fault> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Err(Fault::Broken)
}

async fn take_ten(_cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    tokio::time::sleep(Duration::from_secs(10)).await;
    Ok(n)
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Fork {
    #[start]
    #[parallel(branches = [FailsAfterOne, TakesTen], next = Done)]
    Split(u64),
    #[succeed]
    Done((u64, u64)),
}

#[tokio::test(start_paused = true)]
async fn a_failed_branch_aborts_its_sibling_in_the_history() {
    let engine = engine(&[]);
    engine.register::<Fork>();
    let handle = engine.start::<Fork>("fork", 1).await.unwrap();
    let id = handle.id().to_owned();
    let error = handle.await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "Fault.Broken");
    let history = engine.history(&id).await.unwrap();
    assert_linked(&history);
    let events: Vec<(&str, Option<&str>)> = history
        .iter()
        .map(|e| (e.kind.name(), e.data.as_deref()))
        .collect();
    assert_eq!(
        events[1..],
        [
            ("ParallelStateEntered", Some("1")),
            ("ParallelStateStarted", None),
            // A branch's start is recorded with its end.
            ("ParallelBranchStarted", Some(r#"{"index":0}"#)),
            (
                "ParallelBranchFailed",
                Some(r#"{"cause":"broken","error":"Fault.Broken","index":0}"#)
            ),
            ("ParallelBranchStarted", Some(r#"{"index":1}"#)),
            ("ParallelBranchAborted", Some(r#"{"index":1}"#)),
            (
                "ParallelStateFailed",
                Some(r#"{"cause":"broken","error":"Fault.Broken"}"#)
            ),
            (
                "ExecutionFailed",
                Some(r#"{"cause":"broken","error":"Fault.Broken"}"#)
            ),
        ]
    );
}

fn three(n: &u64) -> Vec<u64> {
    vec![*n, *n + 1, *n + 2]
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Fan {
    #[start]
    #[map(TakesTen, items = three, max_concurrency = 2, next = Done)]
    Spread(u64),
    #[succeed]
    Done(Vec<u64>),
}

#[tokio::test(start_paused = true)]
async fn map_iterations_are_in_the_history() {
    let engine = engine(&[]);
    engine.register::<Fan>();
    let handle = engine.start::<Fan>("fan", 5).await.unwrap();
    let id = handle.id().to_owned();
    assert_eq!(handle.await, Ok(vec![5, 6, 7]));
    let history = engine.history(&id).await.unwrap();
    assert_linked(&history);
    let names: Vec<&str> = history.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        names,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            // An item's start is recorded with its end, stamped with the
            // time it started.
            "MapIterationStarted",
            "MapIterationSucceeded",
            "MapIterationStarted",
            "MapIterationSucceeded",
            "MapIterationStarted",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded",
        ]
    );
    let third = history
        .iter()
        .filter(|e| e.kind == EventKind::MapIterationStarted)
        .nth(2)
        .unwrap();
    assert_eq!(third.data.as_deref(), Some(r#"{"index":2}"#));
    assert_eq!(
        third
            .timestamp
            .duration_since(history[0].timestamp)
            .unwrap(),
        Duration::from_secs(10),
        "the third item waits for a free slot"
    );
}
