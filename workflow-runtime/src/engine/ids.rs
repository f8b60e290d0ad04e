//! Execution ids that grow with time.
//!
//! A store keeps executions and their events in indexes keyed by execution
//! id. With random ids every commit of a batch lands on another page, all
//! over the tables: on SQLite that cost about two thirds of the plain
//! insert rate (benches/durable.rs). Ids that increase in the order
//! executions start keep a batch's writes on the last pages instead.

use std::sync::Mutex;
use std::time::SystemTime;

use super::lock;

/// The 74 bits of a UUIDv7 that are not its timestamp, version or variant.
const COUNTER_BITS: u32 = 74;

/// Makes UUIDv7 ids (RFC 9562): 48 bits of Unix milliseconds, then a
/// counter seeded at random each millisecond and incremented within it
/// ("monotonic random", the RFC's method 2), so the ids one engine makes
/// are strictly increasing and those of engines sharing a store stay
/// unique.
#[derive(Debug, Default)]
pub(crate) struct Ids {
    /// The millisecond and counter of the last id.
    last: Mutex<(u64, u128)>,
}

impl Ids {
    /// The next id, at `now` (the engine's clock), as 32 hex digits.
    pub(crate) fn next(&self, now: SystemTime) -> String {
        let millis = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let (millis, counter) = {
            let mut last = lock(&self.last);
            let (last_millis, last_counter) = *last;
            // A fresh seed leaves the counter's top bit clear: room for
            // 2^73 more ids in the same millisecond.
            let seed = || fastrand::u128(..) >> (128 - (COUNTER_BITS - 1));
            *last = if millis > last_millis {
                (millis, seed())
            } else if last_counter + 1 < 1 << COUNTER_BITS {
                // The same millisecond, or a clock that went back.
                (last_millis, last_counter + 1)
            } else {
                (last_millis + 1, seed())
            };
            *last
        };
        let mut bytes = [0; 10];
        // rand_a: the counter's top 12 bits; rand_b: its low 62.
        bytes[..2].copy_from_slice(&((counter >> 62) as u16).to_be_bytes());
        bytes[2..].copy_from_slice(&((counter as u64) & ((1 << 62) - 1)).to_be_bytes());
        uuid::Builder::from_unix_timestamp_millis(millis, &bytes)
            .into_uuid()
            .simple()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn ids_increase_within_a_millisecond_and_across_them() {
        let ids = Ids::default();
        let start = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_000);
        let mut made = Vec::new();
        for n in 0..3000u64 {
            // Three ids per millisecond, and once the clock goes back.
            let at = if n == 1500 {
                start
            } else {
                start + Duration::from_millis(n / 3)
            };
            made.push(ids.next(at));
        }
        assert!(made.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        assert!(made.iter().all(|id| id.len() == 32));
        let parsed = uuid::Uuid::parse_str(&made[0]).unwrap();
        assert_eq!(parsed.get_version_num(), 7);
        let (secs, _) = parsed.get_timestamp().unwrap().to_unix();
        assert_eq!(secs, 1_700_000_000);
    }

    #[test]
    fn a_full_counter_moves_on_to_the_next_millisecond() {
        let ids = Ids::default();
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(5);
        *lock(&ids.last) = (5, (1 << COUNTER_BITS) - 1);
        let next = uuid::Uuid::parse_str(&ids.next(at)).unwrap();
        let (_, nanos) = next.get_timestamp().unwrap().to_unix();
        assert_eq!(nanos, 6_000_000);
    }
}
