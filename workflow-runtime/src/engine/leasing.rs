//! How an engine holds the executions it drives: for as long as it lives
//! (one process on an embedded store), or on leases that expire unless it
//! renews them (many workers sharing a database); and whether it drives
//! executions at all.

use std::time::{Duration, SystemTime};

/// The engine's settings for holding and finding work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Leasing {
    /// How long a claim holds without renewal; `None`: until the execution
    /// parks or the process ends.
    pub(super) lease: Option<Duration>,
    /// The timer loop looks for work at least this often, in case a
    /// wake-up was missed (and, with leases, for expired ones).
    pub(super) poll: Duration,
    /// The most executions driven here at once.
    pub(super) max_active: usize,
    /// Whether this engine drives executions, or only starts, reads and
    /// answers them (a web handler, a CLI).
    pub(super) client_only: bool,
}

impl Leasing {
    /// Until when a claim made `now` holds.
    pub(super) fn until(&self, now: SystemTime) -> SystemTime {
        match self.lease {
            Some(lease) => now + lease,
            None => forever(),
        }
    }

    /// Until when a start holds the execution it creates: a client holds
    /// nothing, so any worker may take it at once.
    pub(super) fn start_until(&self, now: SystemTime) -> SystemTime {
        if self.client_only {
            SystemTime::UNIX_EPOCH
        } else {
            self.until(now)
        }
    }

    /// Which leases recovery may take over, at `now`: with leases, those
    /// that expired (their holders are gone or stalled); without, all of
    /// them (the process that held them is gone).
    pub(super) fn recoverable_by(&self, now: SystemTime) -> SystemTime {
        match self.lease {
            Some(_) => now,
            None => forever(),
        }
    }

    /// How often to renew the leases held: a third of a lease, so two
    /// renewals may fail before one expires.
    pub(super) fn renew_every(&self) -> Option<Duration> {
        self.lease.map(|lease| lease / 3)
    }
}

/// A time past any lease: what "held as long as this process lives"
/// writes.
pub(super) fn forever() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) * 8)
}
