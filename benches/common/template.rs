//! What one execution of `Ten` writes, for the plain-insert limits: its
//! history events grouped by the commit that writes them, and the
//! checkpoint each commit leaves.

use std::time::{SystemTime, UNIX_EPOCH};

use workflow::prelude::*;

use super::ten::Ten;

/// States per execution: the transitions one execution makes.
pub const STATES: u64 = 10;

/// One history event, as the stores write it.
pub struct EventRow {
    pub kind: &'static str,
    pub state: Option<String>,
    pub data: Option<String>,
}

/// A real execution's events, grouped by the commit that writes them.
pub struct Template {
    pub commits: Vec<Vec<EventRow>>,
}

impl Template {
    /// Runs one execution (of input `n`) on the in-memory store and reads
    /// its history.
    pub fn of_a_real_execution(runtime: &tokio::runtime::Runtime, n: u64) -> Template {
        let engine = Engine::new(());
        engine.register::<Ten>();
        let history = runtime.block_on(async {
            let handle = engine.start::<Ten>("template", n).await.expect("starts");
            let id = handle.id().to_owned();
            handle.await.expect("succeeds");
            engine.history(&id).await.expect("a history")
        });
        // The driver commits once a task has started, once a state that
        // runs no task is entered, and at the end.
        let mut commits = vec![Vec::new()];
        for event in history {
            let kind = event.kind.name();
            commits.last_mut().expect("one group").push(EventRow {
                kind,
                state: event.state.map(String::from),
                data: event.data,
            });
            if matches!(
                kind,
                "TaskStarted" | "SucceedStateEntered" | "ExecutionSucceeded"
            ) {
                commits.push(Vec::new());
            }
        }
        commits.pop();
        assert_eq!(
            commits.len() as u64,
            STATES + 1,
            "one commit per state, and the end"
        );
        Template { commits }
    }
}

/// A checkpoint as the stores hold it: the whole enum, serialized.
const STATE: [fn(u64) -> Ten; STATES as usize] = [
    Ten::S1,
    Ten::S2,
    Ten::S3,
    Ten::S4,
    Ten::S5,
    Ten::S6,
    Ten::S7,
    Ten::S8,
    Ten::S9,
    Ten::S10,
];

/// The checkpoint of execution `n` in state `state` (0-based).
pub fn checkpoint(state: usize, n: u64) -> String {
    serde_json::to_string(&STATE[state](n + state as u64)).expect("serializes")
}

/// Now, in nanoseconds since the Unix epoch, as the stores keep times.
pub fn now_nanos() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

/// `count` execution ids made as the engine makes them (UUIDv7: Unix
/// milliseconds, then a counter), increasing in the order they start.
pub fn time_ordered_ids(count: u64) -> Vec<String> {
    let mut ids: Vec<String> = (0..count)
        .map(|_| {
            let millis = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_millis() as u64;
            let random: [u8; 10] = std::array::from_fn(|_| fastrand::u8(..));
            uuid::Builder::from_unix_timestamp_millis(millis, &random)
                .into_uuid()
                .simple()
                .to_string()
        })
        .collect();
    ids.sort_unstable();
    ids
}
