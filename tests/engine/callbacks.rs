// Callback tokens and the pending list: tokens that cannot be guessed or
// reused, refused at the call when forged, stale or of the wrong type, and
// the callbacks that wait, listed from the store. Included at the end of
// suite.rs, so it runs on every store.

// Callback tasks: a token handed out, completed from outside.
async fn await_bank(cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    cx.tokens.lock().unwrap().push(cx.callback_token());
    match cx.callback::<u64>().await {
        Ok(paid) => Ok(n + paid),
        Err(workflow::CallbackError::Failed { .. }) => Err(Fault::Broken),
        Err(_) => Err(Fault::Busy),
    }
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Pay {
    #[start]
    #[task(await_bank, next = Done, timeout = "1h", heartbeat = "2s")]
    Waiting(u64),
    #[succeed]
    Done(u64),
}

async fn token_of(engine: &Engine<Ops>) -> String {
    tokio::time::sleep(Duration::from_millis(500)).await;
    engine.context().tokens.lock().unwrap()[0].clone()
}

#[tokio::test(start_paused = true)]
async fn a_callback_task_waits_for_its_token_to_be_completed() {
    let engine = engine(&[]);
    engine.register::<Pay>();
    let handle = engine.start::<Pay>("pay", 1).await.unwrap();
    let token = token_of(&engine).await;
    assert_eq!(handle.describe().await.unwrap().unwrap().state, "Waiting");
    engine.complete_task(&token, 41u64).await.unwrap();
    assert_eq!(handle.await, Ok(42));
}

#[tokio::test(start_paused = true)]
async fn the_first_callback_answer_is_the_one_the_task_gets_and_a_late_one_is_refused() {
    let engine = engine(&[]);
    engine.register::<Pay>();
    let handle = engine.start::<Pay>("pay", 1).await.unwrap();
    let token = token_of(&engine).await;
    engine.complete_task(&token, 41u64).await.unwrap();
    // A retry of the same answer is no error; a different one is refused,
    // and changes nothing.
    engine.complete_task(&token, 41u64).await.unwrap();
    assert_eq!(
        engine.complete_task(&token, 99u64).await,
        Err(EngineError::AlreadyAnswered(token.clone()))
    );
    assert_eq!(
        engine.fail_task(&token, "Late", "too late").await,
        Err(EngineError::AlreadyAnswered(token.clone()))
    );
    assert_eq!(handle.await, Ok(42));
}

#[tokio::test(start_paused = true)]
async fn a_failed_callback_fails_the_task() {
    let engine = engine(&[]);
    engine.register::<Pay>();
    let handle = engine.start::<Pay>("pay", 1).await.unwrap();
    let token = token_of(&engine).await;
    engine
        .fail_task(&token, "Declined", "the card was declined")
        .await
        .unwrap();
    let error = handle.await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "Fault.Broken");
}

#[tokio::test(start_paused = true)]
async fn callback_heartbeats_keep_a_task_alive_and_silence_times_it_out() {
    let engine = engine(&[]);
    engine.register::<Pay>();
    let alive = engine.start::<Pay>("alive", 1).await.unwrap();
    let token = token_of(&engine).await;
    // Parked: the heartbeats move its stored deadline.
    assert_eq!(engine.executions_in_memory(), 0);
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        engine.heartbeat_task(&token).await.unwrap();
    }
    engine.complete_task(&token, 1u64).await.unwrap();
    assert_eq!(alive.await, Ok(2), "5 s of heartbeats, past the 2 s heartbeat interval");

    let started = tokio::time::Instant::now();
    let silent = engine.start::<Pay>("silent", 1).await.unwrap();
    let error = silent.await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "States.HeartbeatTimeout");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

use workflow::store::{ParkedCallback, unanswered};
use workflow::{CallbackToken, PendingFilter};

/// Hands its token out once (not when it runs again with its answer), and
/// counts its runs.
async fn hold(cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    cx.started.fetch_add(1, Ordering::SeqCst);
    if !cx.callback_answered().await.map_err(|_| Fault::Broken)? {
        cx.tokens.lock().unwrap().push(cx.callback_token());
    }
    cx.callback::<u64>().await.map(|extra| n + extra).map_err(|_| Fault::Broken)
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Hold {
    #[start]
    #[task(hold, next = Held)]
    Holding(u64),
    #[succeed]
    Held(u64),
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum HoldAnHour {
    #[start]
    #[task(hold, next = Held, timeout = "1h")]
    Holding(u64),
    #[succeed]
    Held(u64),
}

#[tokio::test(start_paused = true)]
async fn a_callback_task_leaves_memory_while_it_waits_and_runs_again_with_its_answer() {
    let engine = engine(&[]);
    engine.register::<Hold>();
    let handle = engine.start::<Hold>("hold", 1).await.unwrap();
    let token = token_of(&engine).await;
    assert_eq!(engine.executions_in_memory(), 0, "no future waits for the answer");
    let stored = engine.store().execution(handle.id()).await.unwrap().unwrap();
    let parked = ParkedCallback {
        timeout_at: None,
        heartbeat: None,
    };
    assert_eq!(stored.checkpoint.callback, Some(parked));
    assert_eq!(stored.checkpoint.wake_at, Some(unanswered()), "no deadline");
    let described = handle.describe().await.unwrap().unwrap();
    assert_eq!(described.wake_at, None, "only an answer wakes it");
    // Still listed, and an answer of the wrong type is still refused here.
    let pending = engine.pending_callbacks(PendingFilter::new()).await.unwrap();
    assert_eq!(pending.callbacks.len(), 1);
    assert!(matches!(
        engine.complete_task(&token, "forty-one").await,
        Err(EngineError::WrongType { .. })
    ));

    engine.complete_task(&token, 41u64).await.unwrap();
    assert_eq!(handle.await, Ok(42));
    assert_eq!(engine.context().started.load(Ordering::SeqCst), 2, "ran again");
    assert_eq!(tokens(&engine), [token], "handed out once");
    let history = engine.history("hold").await.unwrap();
    let started = history.iter().filter(|e| e.kind == EventKind::TaskStarted);
    assert_eq!(started.count(), 1, "one attempt: {:?}", kinds(&history));
}

#[tokio::test(start_paused = true)]
async fn a_parked_callback_times_out_at_its_stored_deadline_without_running_again() {
    let engine = engine(&[]);
    engine.register::<HoldAnHour>();
    let handle = engine.start::<HoldAnHour>("hold", 1).await.unwrap();
    token_of(&engine).await;
    assert_eq!(engine.executions_in_memory(), 0);
    let started_at = engine.describe("hold").await.unwrap().unwrap().started_at;
    let stored = engine.store().execution(handle.id()).await.unwrap().unwrap();
    let deadline = started_at + Duration::from_secs(3600);
    assert_eq!(stored.checkpoint.callback.unwrap().timeout_at, Some(deadline));
    assert_eq!(stored.checkpoint.wake_at, Some(deadline));

    let waited = tokio::time::Instant::now();
    let error = handle.await.unwrap_err();
    assert_eq!(error.failure().unwrap().error, "States.Timeout");
    assert_eq!(waited.elapsed(), Duration::from_secs(3600) - Duration::from_millis(500));
    assert_eq!(engine.context().started.load(Ordering::SeqCst), 1, "not run again");
    let history = engine.history("hold").await.unwrap();
    assert!(history.iter().any(|e| e.kind == EventKind::TaskTimedOut), "{:?}", kinds(&history));
}

/// Waits a minute for a first answer, then (caught on the timeout) for a
/// second one: its first token goes stale while the execution runs on.
async fn ask_first(cx: Ctx<'_, Ops>, n: u64) -> Result<Second, Fault> {
    cx.tokens.lock().unwrap().push(cx.callback_token());
    let extra = cx
        .callback_with::<u64>(serde_json::json!({ "approve": n }))
        .await
        .map_err(|_| Fault::Broken)?;
    Ok(Second(n + extra))
}

async fn ask_second(cx: Ctx<'_, Ops>, second: Second) -> Result<u64, Fault> {
    let token: CallbackToken<u64> = cx.callback_token_for();
    cx.tokens.lock().unwrap().push(token.into_string());
    cx.callback::<u64>().await.map(|extra| second.0 + extra).map_err(|_| Fault::Broken)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Second(u64);

impl From<Caught<u64, Fault>> for Second {
    fn from(caught: Caught<u64, Fault>) -> Self {
        Second(caught.input)
    }
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum Approve {
    #[start]
    #[task(ask_first, next = Again, timeout = "60s")]
    #[catch(on = [timeout], next = Again)]
    First(u64),
    #[task(ask_second, next = Approved)]
    Again(Second),
    #[succeed]
    Approved(u64),
}

fn two(n: &u64) -> Vec<u64> {
    vec![*n, *n + 1]
}

async fn ask_item(cx: Ctx<'_, Ops>, n: u64) -> Result<u64, Fault> {
    cx.tokens.lock().unwrap().push(cx.callback_token());
    cx.callback_with::<u64>(n).await.map(|extra| n + extra).map_err(|_| Fault::Broken)
}

#[workflow(context = Ops)]
pub enum AskItem {
    #[start]
    #[task(ask_item, next = Done)]
    Asking(u64),
    #[succeed]
    Done(u64),
}

#[workflow(context = Ops)]
#[derive(Serialize, Deserialize)]
pub enum AskAll {
    #[start]
    #[map(AskItem, items = two, next = Asked)]
    Fan(u64),
    #[succeed]
    Asked(Vec<u64>),
}

fn tokens(engine: &Engine<Ops>) -> Vec<String> {
    engine.context().tokens.lock().unwrap().clone()
}

/// The base64url halves of a token: the task's key and its MAC.
fn halves(token: &str) -> (&str, &str) {
    token.split_once('.').expect("a token has two halves")
}

#[tokio::test(start_paused = true)]
async fn tokens_are_url_safe_and_forged_or_malformed_ones_are_refused() {
    let engine = engine(&[]);
    engine.register::<Pay>();
    let handle = engine.start::<Pay>("pay", 1).await.unwrap();
    let other = engine.start::<Pay>("other", 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let [token, other_token] = <[String; 2]>::try_from(tokens(&engine)).unwrap();
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
        "{token}"
    );
    assert!(halves(&token).1.len() >= 43, "256 bits of MAC: {token}");

    let id = handle.id();
    let (key, mac) = halves(&token);
    let (other_key, other_mac) = halves(&other_token);
    let mut flipped = mac.as_bytes().to_vec();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let forged = [
        // What tokens were: the idempotency key, known to anyone who knows the id.
        format!("{id}/Waiting/0"),
        format!("{id}/NoSuchState/99"),
        String::new(),
        "not a token".to_owned(),
        // This task's key with another execution's MAC, and the reverse.
        format!("{key}.{other_mac}"),
        format!("{other_key}.{mac}"),
        format!("{key}.{}", String::from_utf8(flipped).unwrap()),
    ];
    for forged in &forged {
        let refused = Err(EngineError::InvalidToken(forged.clone()));
        assert_eq!(engine.complete_task(forged, 7u64).await, refused, "{forged}");
        assert_eq!(engine.fail_task(forged, "E", "c").await, refused);
        assert_eq!(engine.heartbeat_task(forged).await, refused);
    }
    // Nothing was stored: the genuine tokens answer their own tasks.
    engine.complete_task(&token, 41u64).await.unwrap();
    engine.complete_task(&other_token, 1u64).await.unwrap();
    assert_eq!(handle.await, Ok(42));
    assert_eq!(other.await, Ok(2));
}

#[tokio::test(start_paused = true)]
async fn the_token_of_a_purged_execution_is_refused_like_a_forged_one() {
    let engine = engine(&[]);
    engine.register::<Pay>();
    let handle = engine.start::<Pay>("pay", 1).await.unwrap();
    let token = token_of(&engine).await;
    engine.complete_task(&token, 1u64).await.unwrap();
    assert_eq!(handle.await, Ok(2));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(engine.purge(Duration::from_secs(1)).await, Ok(1));
    assert_eq!(
        engine.complete_task(&token, 1u64).await,
        Err(EngineError::InvalidToken(token.clone()))
    );
}

#[tokio::test(start_paused = true)]
async fn a_stale_token_is_refused_and_a_repeated_answer_is_not() {
    let engine = engine(&[]);
    engine.register::<Approve>().register::<Pay>();
    let handle = engine.start::<Approve>("approve", 1).await.unwrap();
    // The first wait times out; the execution waits in `Again` now.
    tokio::time::sleep(Duration::from_secs(61)).await;
    let [first, second] = <[String; 2]>::try_from(tokens(&engine)).unwrap();
    let stale = Err(EngineError::StaleToken(first.clone()));
    assert_eq!(engine.complete_task(&first, 5u64).await, stale);
    assert_eq!(engine.heartbeat_task(&first).await, stale);
    assert_eq!(engine.fail_task(&first, "Late", "too late").await, stale);

    engine.complete_task(&second, 5u64).await.unwrap();
    assert_eq!(handle.await, Ok(6));
    // Once the execution has ended, the approver's retry of its answer is
    // still no error; another answer is refused as late.
    engine.complete_task(&second, 5u64).await.unwrap();
    let late = engine.complete_task(&second, 6u64).await;
    assert_eq!(late, Err(EngineError::AlreadyAnswered(second.clone())));
    // The message names the task but leaves out the token's tag, which is
    // what answers it: a log of errors answers nothing.
    let (key, tag) = second.split_once('.').unwrap();
    let message = late.unwrap_err().to_string();
    assert!(message.contains(key) && !message.contains(tag), "{message}");

    // Cancelled: nothing waits for its token any more.
    let cancelled = engine.start::<Pay>("cancelled", 1).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // The last handed out: handlers that waited for their callbacks ran
    // again when the answers came, and handed theirs out again.
    let token = tokens(&engine).last().unwrap().clone();
    cancelled.cancel().await.unwrap();
    assert_eq!(cancelled.await, Err(ExecutionError::Aborted));
    assert_eq!(
        engine.complete_task(&token, 1u64).await,
        Err(EngineError::StaleToken(token.clone()))
    );
}

#[tokio::test(start_paused = true)]
async fn an_output_of_the_wrong_type_is_refused_at_the_call() {
    let engine = engine(&[]);
    engine.register::<Pay>();
    let handle = engine.start::<Pay>("pay", 1).await.unwrap();
    let token = token_of(&engine).await;
    let refused = engine.complete_task(&token, "forty-one").await;
    assert!(
        matches!(&refused, Err(EngineError::WrongType { token: t, .. }) if *t == token),
        "{refused:?}"
    );
    // The task still waits, and a typed token's output is checked by the
    // compiler: a `u64`.
    let typed = CallbackToken::<u64>::new(token.clone());
    engine.complete_typed(&typed, &41).await.unwrap();
    assert_eq!(handle.await, Ok(42));
}

#[tokio::test(start_paused = true)]
async fn pending_callbacks_are_listed_filtered_and_paged_until_they_wait_no_more() {
    let engine = engine(&[]);
    engine.register::<Approve>().register::<Pay>();
    let mut handles = Vec::new();
    for (n, name) in ["a", "b", "c"].into_iter().enumerate() {
        handles.push(engine.start::<Approve>(name, n as u64).await.unwrap());
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let all = engine.pending_callbacks(PendingFilter::new()).await.unwrap();
    assert_eq!(all.next, None);
    let tokens = tokens(&engine);
    let listed: Vec<_> = all
        .callbacks
        .iter()
        .map(|p| (p.token.as_str(), p.execution_name.as_str(), p.state.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (tokens[0].as_str(), "a", "First"),
            (tokens[1].as_str(), "b", "First"),
            (tokens[2].as_str(), "c", "First"),
        ]
    );
    let b = &all.callbacks[1];
    assert_eq!(b.execution_id, handles[1].id());
    assert_eq!(b.workflow, "Approve");
    assert_eq!(b.message, Some(serde_json::json!({ "approve": 1 })));
    // Waiting since it started: its task waits from its first instant.
    let described = engine.describe("b").await.unwrap().unwrap();
    assert_eq!(b.since, described.started_at);

    // Filtered by execution (id or name) and by workflow.
    let of_b = engine
        .pending_callbacks(PendingFilter::new().execution("b"))
        .await
        .unwrap();
    assert_eq!(of_b.callbacks, std::slice::from_ref(b));
    let by_id = PendingFilter::new().execution(handles[1].id());
    assert_eq!(engine.pending_callbacks(by_id).await.unwrap(), of_b);
    let of_pay = PendingFilter::new().workflow("Pay");
    assert!(engine.pending_callbacks(of_pay).await.unwrap().callbacks.is_empty());
    let of_nobody = PendingFilter::new().execution("nobody");
    assert!(engine.pending_callbacks(of_nobody).await.unwrap().callbacks.is_empty());

    // Paged.
    let first = engine
        .pending_callbacks(PendingFilter::new().limit(2))
        .await
        .unwrap();
    assert_eq!(first.callbacks, all.callbacks[..2]);
    let cursor = first.next.expect("a full page has a next one");
    let rest = engine
        .pending_callbacks(PendingFilter::new().limit(2).after(cursor))
        .await
        .unwrap();
    assert_eq!(rest.callbacks, all.callbacks[2..]);
    assert_eq!(rest.next, None);
    assert_eq!(
        engine.pending_callbacks(PendingFilter::new().after("x")).await,
        Err(EngineError::InvalidCursor("x".into()))
    );

    // Answered: `a` waits in its next state, listed last; cancelled: gone.
    engine.complete_task(&tokens[0], 1u64).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let c = handles.remove(2);
    c.cancel().await.unwrap();
    assert_eq!(c.await, Err(ExecutionError::Aborted));
    let now = engine.pending_callbacks(PendingFilter::new()).await.unwrap();
    let listed: Vec<_> = now
        .callbacks
        .iter()
        .map(|p| (p.execution_name.as_str(), p.state.as_str()))
        .collect();
    assert_eq!(listed, [("b", "First"), ("a", "Again")]);
    // The last token handed out: `a`'s first task ran again (and handed
    // its token out again) when its answer came, then its second one ran.
    let last = engine.context().tokens.lock().unwrap().last().cloned();
    assert_eq!(Some(&now.callbacks[1].token), last.as_ref());
    assert_eq!(now.callbacks[1].message, None);
}

#[tokio::test(start_paused = true)]
async fn the_tasks_of_map_items_have_tokens_and_are_listed() {
    let engine = engine(&[]);
    engine.register::<AskAll>();
    let handle = engine.start::<AskAll>("fan", 10).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pending = engine.pending_callbacks(PendingFilter::new()).await.unwrap();
    let mut listed: Vec<_> = pending
        .callbacks
        .iter()
        .map(|p| (p.execution_id.as_str(), p.state.as_str(), p.message.clone()))
        .collect();
    listed.sort_by_key(|(_, _, message)| message.as_ref().map(ToString::to_string));
    let id = handle.id();
    assert_eq!(
        listed,
        [
            (id, "Asking", Some(serde_json::json!(10))),
            (id, "Asking", Some(serde_json::json!(11))),
        ]
    );
    for p in &pending.callbacks {
        engine.complete_task(&p.token, 100u64).await.unwrap();
    }
    assert_eq!(handle.await, Ok(vec![110, 111]));
    assert!(engine.pending_callbacks(PendingFilter::new()).await.unwrap().callbacks.is_empty());
}
