//! The timer loop: resumes parked executions when they are due.

use super::*;

impl<C: Send + Sync + 'static> Engine<C> {
    /// Starts the timer loop, once: it resumes parked executions when their
    /// deadlines come.
    pub(super) fn ensure_timers(&self) {
        let mut timers = lock(&self.shared.timers);
        if timers.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let weak = Arc::downgrade(&self.shared);
        *timers = Some(tokio::spawn(timer_loop(weak)).abort_handle());
    }
}

/// The timer loop: sleeps until the earliest deadline of a parked
/// execution (or until one parks), claims what is due and resumes it.
pub(super) async fn timer_loop<C: Send + Sync + 'static>(shared: std::sync::Weak<Shared<C>>) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let engine = Engine { shared: strong };
        let clock = engine.shared.clock;
        let now = clock.now();
        let claim = Claim {
            owner: engine.shared.owner.clone(),
            lease_until: forever(),
            due_by: now,
            leases_expired_by: now,
            limit: 1024,
        };
        let claimed = match engine.shared.store.claim(claim).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "the timer loop could not claim due executions");
                Vec::new()
            }
        };
        let full = claimed.len() == 1024;
        for execution in claimed {
            match engine.resume_claimed(execution).await {
                Ok(None) => {}
                Ok(Some(problem)) => tracing::warn!(%problem, "a due execution was not resumed"),
                Err(error) => tracing::warn!(%error, "a due execution was not resumed"),
            }
        }
        if full {
            continue;
        }
        let next = engine.shared.store.next_wake(now).await.ok().flatten();
        let wake = Arc::clone(&engine.shared);
        drop(engine);
        // Polled at least every minute, so a deadline written by another
        // engine on the same store is not missed for long.
        let poll = now + Duration::from_secs(60);
        let until = next.map_or(poll, |t| t.min(poll));
        let elsewhere = async {
            match wake.store.wake_up() {
                // Another worker made something due: look now. An error
                // falls back to the poll.
                Some(woken) => {
                    if woken.await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = clock.sleep_until(until) => {}
            () = wake.wake.notified() => {}
            () = elsewhere => {}
        }
    }
}
