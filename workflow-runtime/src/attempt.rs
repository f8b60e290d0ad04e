//! One attempt of a task: the handler's future under a timeout and a
//! heartbeat watchdog, with panics caught.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::Either;

use crate::context::Heartbeat;
use crate::error::Interrupt;

/// The attempt's future. Without a timeout or heartbeat it is the handler's
/// own future with panics caught, no bigger; with them, the timers come
/// boxed, so their size is not paid by every step of every workflow.
pub(crate) fn run<F: Future>(
    handler: F,
    timeout: Option<Duration>,
    heartbeat: Option<Duration>,
    beats: &Heartbeat,
) -> impl Future<Output = Result<F::Output, Interrupt>> {
    // The handler owns nothing the driver reads after a panic, so observing
    // its state after unwinding cannot break an invariant.
    let guarded = AssertUnwindSafe(handler).catch_unwind();
    if timeout.is_none() && heartbeat.is_none() {
        Either::Left(guarded.map(|result| result.map_err(panicked)))
    } else {
        Either::Right(Box::pin(guard(guarded, timeout, heartbeat, beats)))
    }
}

/// Polls `future` once with panics caught. Through `dyn Future`, so the
/// unwinding machinery is compiled once per output type rather than once
/// per handler: in a workflow of many tasks, that machinery was a third of
/// the code generated for them.
pub(crate) fn poll_caught<T>(
    future: Pin<&mut (dyn Future<Output = T> + '_)>,
    cx: &mut Context<'_>,
) -> Poll<Result<T, Interrupt>> {
    // As in `run`: the handler owns nothing read after a panic.
    match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(panic) => Poll::Ready(Err(panicked(panic))),
    }
}

async fn guard<F: Future<Output = std::thread::Result<T>>, T>(
    guarded: F,
    timeout: Option<Duration>,
    heartbeat: Option<Duration>,
    beats: &Heartbeat,
) -> Result<T, Interrupt> {
    beats.reset();
    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let silence = async {
        match heartbeat {
            Some(gap) => watch(beats, gap).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        biased;
        result = guarded => result.map_err(panicked),
        () = deadline => Err(Interrupt::Timeout),
        () = silence => Err(Interrupt::HeartbeatTimeout),
    }
}

/// Completes once `gap` passes without a heartbeat.
async fn watch(beats: &Heartbeat, gap: Duration) {
    loop {
        let due = beats.last() + gap;
        tokio::time::sleep_until(due).await;
        if beats.last() + gap <= tokio::time::Instant::now() {
            return;
        }
    }
}

pub(crate) fn panicked(payload: Box<dyn std::any::Any + Send>) -> Interrupt {
    Interrupt::Panicked(panic_message(payload.as_ref()))
}

/// What a panic said, when it said it with a string.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the code panicked".to_owned())
}
