//! The workflows the workers run, and what their handlers share.

use super::*;

/// What the handlers share, across every engine of a test.
#[derive(Default)]
pub struct Lab {
    /// Each effect's idempotency key, once per run of the handler.
    pub(crate) effects: Mutex<Vec<String>>,
    /// While set, `effect` waits for `gate` before it returns.
    pub(crate) hold: AtomicBool,
    pub(crate) gate: Notify,
    pub(crate) running: AtomicUsize,
    pub(crate) most_at_once: AtomicUsize,
    /// Callback tokens handed out.
    pub(crate) tokens: Mutex<Vec<String>>,
}

#[derive(Clone, Default)]
pub struct Shared(Arc<Lab>);

impl std::ops::Deref for Shared {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        &self.0
    }
}

pub async fn effect(cx: Ctx<'_, Shared>, n: u64) -> Result<u64, std::convert::Infallible> {
    let lab = cx.context();
    let now = lab.running.fetch_add(1, Ordering::SeqCst) + 1;
    lab.most_at_once.fetch_max(now, Ordering::SeqCst);
    if lab.hold.load(Ordering::SeqCst) {
        lab.gate.notified().await;
    } else {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    lab.effects
        .lock()
        .unwrap()
        .push(cx.idempotency_key().to_string());
    lab.running.fetch_sub(1, Ordering::SeqCst);
    Ok(n * 2)
}

pub async fn finish(_cx: Ctx<'_, Shared>, n: u64) -> Result<u64, std::convert::Infallible> {
    Ok(n + 1)
}

#[workflow(context = Shared)]
#[derive(Serialize, Deserialize)]
pub enum Job {
    #[start]
    #[task(effect, next = Rest)]
    Effect(u64),

    #[wait(seconds = 60, next = Finish)]
    Rest(u64),

    #[task(finish, next = Done)]
    Finish(u64),

    #[succeed]
    Done(u64),
}

pub async fn ask(cx: Ctx<'_, Shared>, n: u64) -> Result<u64, std::convert::Infallible> {
    cx.context()
        .tokens
        .lock()
        .unwrap()
        .push(cx.callback_token());
    let approved: u64 = cx.callback().await.unwrap_or_default();
    Ok(n + approved)
}

#[workflow(context = Shared)]
#[derive(Serialize, Deserialize)]
pub enum Approval {
    #[start]
    #[task(ask, next = Granted)]
    Asking(u64),

    #[succeed]
    Granted(u64),
}

/// Two steps with no wait between them: stopping at the checkpoint between
/// them leaves the execution held, not parked.
#[workflow(context = Shared)]
#[derive(Serialize, Deserialize)]
pub enum Relay {
    #[start]
    #[task(effect, next = Last)]
    First(u64),

    #[task(finish, next = Finished)]
    Last(u64),

    #[succeed]
    Finished(u64),
}

pub fn expected(n: u64) -> u64 {
    n * 2 + 1
}
