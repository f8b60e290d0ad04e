//! Time as the driver sees it.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// Wall-clock time that follows tokio's clock: it starts at the real time
/// and then advances with `tokio::time`, so pausing tokio's clock in a test
/// pauses this one too, and `until` waits are tested without waiting.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall_origin: SystemTime,
    origin: Instant,
}

impl Clock {
    /// A clock that reads the real time now.
    pub fn new() -> Self {
        Clock {
            wall_origin: SystemTime::now(),
            origin: Instant::now(),
        }
    }

    /// The current wall-clock time.
    pub fn now(&self) -> SystemTime {
        self.wall_origin + self.origin.elapsed()
    }

    /// Sleeps for `duration` on tokio's clock.
    pub async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }

    /// Sleeps until wall-clock time `time`; returns at once if it has passed.
    pub async fn sleep_until(&self, time: SystemTime) {
        let remaining = time.duration_since(self.now()).unwrap_or(Duration::ZERO);
        self.sleep(remaining).await;
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// A run's clock, read from the system when first needed: most inline runs
/// never wait, retry or time out, and reading the wall clock and tokio's
/// clock costs them more than a state does.
#[derive(Debug)]
pub(crate) struct LazyClock(OnceLock<Clock>);

impl LazyClock {
    /// The clock `given` (the engine's), or one read at its first use.
    pub(crate) fn new(given: Option<Clock>) -> Self {
        let cell = OnceLock::new();
        if let Some(clock) = given {
            let _ = cell.set(clock);
        }
        LazyClock(cell)
    }

    pub(crate) fn get(&self) -> &Clock {
        self.0.get_or_init(Clock::new)
    }
}
