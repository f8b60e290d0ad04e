//! Callback tasks that leave memory: a task that waits for its callback
//! parks its execution with the task's deadlines committed, and comes back
//! when an answer or a deadline wakes it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use tokio::time::Instant;
use workflow_core::State;

use crate::callback::Parking;
use crate::context::{Heartbeat, IdempotencyKey};
use crate::error::{ExecutionError, Interrupt};
use crate::runner::Runner;
use crate::store::ParkedCallback;
use crate::workflow::task_timers;

pin_project_lite::pin_project! {
    /// A step's future, run until it ends or until a task in it asks to
    /// park (`None`): it is then dropped, unpolled from that point on. A
    /// future of its own, not an `async fn`, so that the step's future,
    /// the largest part of the driver's, is held once.
    pub(super) struct UntilParked<'p, F> {
        #[pin]
        step: F,
        parking: &'p Parking,
    }
}

/// `step` until it ends, or until a task in it takes `parking`'s offer.
pub(super) fn until_parked<F: Future>(step: F, parking: &Parking) -> UntilParked<'_, F> {
    UntilParked { step, parking }
}

impl<F: Future> Future for UntilParked<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.step.poll(cx) {
            Poll::Ready(output) => Poll::Ready(Some(output)),
            Poll::Pending if this.parking.take() => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The callback an attempt of `state` parks on at `now`, and when it is
/// due: its timeout counted from the attempt's start, its heartbeat
/// interval from the last heartbeat (both as `heartbeat` saw them).
pub(super) fn park(
    state: &State,
    heartbeat: &Heartbeat,
    now: SystemTime,
) -> (ParkedCallback, SystemTime) {
    let (timeout, every) = task_timers(state);
    let here = Instant::now();
    let left = |since: Instant, limit: std::time::Duration| {
        now + limit.saturating_sub(here.saturating_duration_since(since))
    };
    let parked = ParkedCallback {
        timeout_at: timeout.map(|timeout| left(heartbeat.started(), timeout)),
        heartbeat: every,
    };
    let heartbeat_due = every.map(|every| left(heartbeat.last(), every));
    (parked, parked.wake_at(heartbeat_due))
}

/// Why an attempt parked on `parked` and woken at `woke_at` (a deadline,
/// an answer's wake-up, or none when the engine no longer parks) fails
/// without running again: a deadline that passed with no answer.
pub(super) fn expired(
    parked: ParkedCallback,
    woke_at: Option<SystemTime>,
    now: SystemTime,
) -> Option<Interrupt> {
    if parked.timeout_at.is_some_and(|at| at <= now) {
        Some(Interrupt::Timeout)
    } else if parked.heartbeat.is_some() && woke_at.is_some_and(|at| at <= now) {
        // Heartbeats move the wake-up ahead: woken at it, none came in
        // time.
        Some(Interrupt::HeartbeatTimeout)
    } else {
        None
    }
}

/// Whether the task of this entry of `state` has its answer stored.
pub(super) async fn answered(
    runner: &Runner,
    execution: &str,
    state: &'static str,
    entry: u64,
) -> Result<bool, ExecutionError> {
    let Some(link) = runner.callbacks() else {
        return Ok(false);
    };
    let key = IdempotencyKey::new(execution, state, entry).to_string();
    let stored = link.callbacks.stored(&key).await;
    stored
        .map(|answer| answer.is_some())
        .map_err(ExecutionError::Store)
}

/// The task of this entry of `state` is back from parking: the check its
/// answers were held to while it was away goes (it checks them itself if
/// it waits again).
pub(super) fn back(runner: &Runner, execution: &str, state: &'static str, entry: u64) {
    if let Some(link) = runner.callbacks() {
        let key = IdempotencyKey::new(execution, state, entry).to_string();
        link.callbacks.forget(&key);
    }
}
