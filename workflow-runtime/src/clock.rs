//! Time as the driver sees it.

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

    /// The instant the clock started at, on tokio's clock.
    pub(crate) fn origin(&self) -> Instant {
        self.origin
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
