//! The timer loop: resumes parked executions when they are due.

use super::*;

impl<C: Send + Sync + 'static> Engine<C> {
    /// Starts the timer loop, once: it resumes parked executions when their
    /// deadlines come.
    pub(super) fn ensure_timers(&self) {
        if self.shared.leasing.client_only || self.is_stopped() {
            return;
        }
        let mut timers = lock(&self.shared.timers);
        if timers.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        let weak = Arc::downgrade(&self.shared);
        *timers = Some(tokio::spawn(timer_loop(weak)).abort_handle());
    }
}

/// The most executions one claim takes.
const CLAIM_BATCH: usize = 1024;

/// The timer loop: sleeps until the earliest deadline of a parked
/// execution (or until one parks, the store says another process made work,
/// or the poll interval passes), claims what is due and resumes it. With
/// leases, it also renews the ones this engine holds.
pub(super) async fn timer_loop<C: Send + Sync + 'static>(shared: std::sync::Weak<Shared<C>>) {
    let mut next_renewal: Option<SystemTime> = None;
    let (mut renewals, mut claims) = (Outage::default(), Outage::default());
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let engine = Engine { shared: strong };
        let clock = engine.shared.clock;
        let leasing = engine.shared.leasing;
        let now = clock.now();
        if let Some(every) = leasing.renew_every()
            && next_renewal.is_none_or(|at| at <= now)
        {
            let held = engine.held();
            let fences: HashMap<String, u64> = held.iter().cloned().collect();
            match engine
                .shared
                .store
                .renew_leases(held, leasing.until(now))
                .await
            {
                Ok(lost) => {
                    let _ = renewals.answered("renew this engine's leases");
                    for id in lost {
                        tracing::info!(execution = %id, "lost the lease of an execution");
                        if let Some(&fence) = fences.get(&id) {
                            engine.lost(&id, fence);
                        }
                    }
                }
                // Retried at the next renewal; two may fail before a lease
                // expires.
                Err(error) => {
                    let _ = renewals.failed("renew this engine's leases", &error);
                }
            }
            next_renewal = Some(now + every);
        }
        let room = if leasing.max_active == usize::MAX {
            CLAIM_BATCH
        } else {
            leasing
                .max_active
                .saturating_sub(engine.active_tasks())
                .min(CLAIM_BATCH)
        };
        let claimed = if room == 0 {
            Claimed::default()
        } else {
            let claim = Claim {
                owner: engine.shared.owner.clone(),
                lease_until: leasing.until(now),
                due_by: now,
                leases_expired_by: now,
                limit: room,
            };
            match engine.shared.store.claim(claim).await {
                Ok(claimed) => {
                    let _ = claims.answered("claim due executions");
                    claimed
                }
                Err(error) => {
                    let _ = claims.failed("claim due executions", &error);
                    Claimed::default()
                }
            }
        };
        // A whole batch, with room for more: there may be more due now.
        // (The store logged the corrupt ones; they stay claimed.)
        let taken = claimed.executions.len() + claimed.corrupt.len();
        let more = room == CLAIM_BATCH && taken == room;
        for execution in claimed.executions {
            match engine.resume_claimed(execution).await {
                Ok(None) => {}
                Ok(Some(problem)) => tracing::warn!(%problem, "a due execution was not resumed"),
                Err(error) => tracing::warn!(%error, "a due execution was not resumed"),
            }
        }
        if more {
            continue;
        }
        let next = engine.shared.store.next_wake(now).await.ok().flatten();
        let wake = Arc::clone(&engine.shared);
        drop(engine);
        // Polled in any case, so a deadline or a start written by another
        // process whose wake-up was missed is not missed for long.
        let until = [next, Some(now + leasing.poll), next_renewal]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + leasing.poll);
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

/// Whether one of the loop's store operations is failing, so that a store
/// that stays unusable (a full disk, a database down for an hour) is
/// reported when it starts and when it ends, not at every poll.
#[derive(Debug, Default)]
struct Outage {
    /// Failures in a row.
    failures: u64,
}

impl Outage {
    /// The operation failed: a warning the first time in a row, then only
    /// at debug level. Returns the level it logged at.
    fn failed(&mut self, what: &str, error: &StoreError) -> tracing::Level {
        self.failures += 1;
        if self.failures == 1 {
            tracing::warn!(%error, "the timer loop could not {what}; retrying at each poll");
            tracing::Level::WARN
        } else {
            tracing::debug!(%error, failures = self.failures, "the timer loop could not {what}");
            tracing::Level::DEBUG
        }
    }

    /// The operation worked: says so (at info level, returned) if it had
    /// been failing.
    fn answered(&mut self, what: &str) -> Option<tracing::Level> {
        if self.failures == 0 {
            return None;
        }
        tracing::info!(
            failures = self.failures,
            "the timer loop could {what} again"
        );
        self.failures = 0;
        Some(tracing::Level::INFO)
    }
}

#[cfg(test)]
mod tests {
    use super::Outage;
    use crate::store::StoreError;
    use tracing::Level;

    #[test]
    fn a_lasting_failure_warns_once_and_its_end_is_told() {
        let full = StoreError::Full("disk full".into());
        let mut outage = Outage::default();
        assert_eq!(outage.answered("claim"), None);
        assert_eq!(outage.failed("claim", &full), Level::WARN);
        for _ in 0..100 {
            assert_eq!(outage.failed("claim", &full), Level::DEBUG);
        }
        assert_eq!(outage.answered("claim"), Some(Level::INFO));
        assert_eq!(outage.answered("claim"), None);
        // A new outage is a new warning.
        assert_eq!(outage.failed("claim", &full), Level::WARN);
    }
}
