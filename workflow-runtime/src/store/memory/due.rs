//! The claim index of executions nobody holds, by when they are due: the
//! one index every parked execution is in, so kept in sorted blocks.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Slot;

/// When an execution is due (`None`, no timer, first), then its slot, in
/// 16 bytes where `(Option<SystemTime>, Slot)` takes 24.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct DueKey {
    /// Seconds from the Unix epoch, rounded down; `i64::MIN` for `None`.
    secs: i64,
    /// Nanoseconds past `secs`, plus one; 0 for `None`, so that it sorts
    /// before every time.
    nanos: u32,
    pub(super) slot: Slot,
}

impl DueKey {
    pub(super) fn new(at: Option<SystemTime>, slot: Slot) -> DueKey {
        let Some(at) = at else {
            return DueKey {
                secs: i64::MIN,
                nanos: 0,
                slot,
            };
        };
        let (secs, nanos) = match at.duration_since(UNIX_EPOCH) {
            Ok(after) => (i128::from(after.as_secs()), after.subsec_nanos()),
            Err(before) => {
                let before = before.duration();
                match before.subsec_nanos() {
                    0 => (-i128::from(before.as_secs()), 0),
                    n => (-i128::from(before.as_secs()) - 1, 1_000_000_000 - n),
                }
            }
        };
        DueKey {
            // A `SystemTime`'s seconds are an `i64`: nothing is clamped.
            secs: secs.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64,
            nanos: nanos + 1,
            slot,
        }
    }

    /// The first key of a time, before every slot's.
    #[cfg(test)]
    pub(super) fn first(at: Option<SystemTime>) -> DueKey {
        DueKey::new(at, 0)
    }

    /// The last key of a time, after every slot's.
    pub(super) fn last(at: Option<SystemTime>) -> DueKey {
        DueKey::new(at, Slot::MAX)
    }

    /// When the execution is due; `None` for no timer (and for a time the
    /// platform cannot hold, which no key is made from).
    pub(super) fn at(&self) -> Option<SystemTime> {
        let nanos = self.nanos.checked_sub(1)?;
        let base = if self.secs >= 0 {
            UNIX_EPOCH.checked_add(Duration::from_secs(self.secs.unsigned_abs()))
        } else {
            UNIX_EPOCH.checked_sub(Duration::from_secs(self.secs.unsigned_abs()))
        };
        base?.checked_add(Duration::from_nanos(u64::from(nanos)))
    }
}

/// The most keys a block holds.
const BLOCK: usize = 128;

/// A sorted set of [`DueKey`]s in blocks of up to [`BLOCK`] keys, found by
/// their first key: 16 bytes and a little per key where a `BTreeSet`
/// takes about 40 (its nodes are half full when keys come in order, as
/// timers mostly do). A block that fills splits where the new key goes, so
/// keys that come in order leave full blocks behind; a block that empties
/// is dropped, and one that runs low is merged with the next.
#[derive(Debug, Default)]
pub(super) struct Due {
    blocks: BTreeMap<DueKey, Vec<DueKey>>,
}

impl Due {
    /// The first key of the block `key` belongs in, if there is a block.
    fn block_of(&self, key: DueKey) -> Option<DueKey> {
        self.blocks
            .range(..=key)
            .next_back()
            .or_else(|| self.blocks.iter().next())
            .map(|(&first, _)| first)
    }

    /// Adds `key`; false if it was there.
    pub(super) fn insert(&mut self, key: DueKey) -> bool {
        let Some(first) = self.block_of(key) else {
            self.blocks.insert(key, vec![key]);
            return true;
        };
        let Some(block) = self.blocks.get_mut(&first) else {
            return false;
        };
        let Err(at) = block.binary_search(&key) else {
            return false;
        };
        if block.len() < BLOCK {
            if block.len() == block.capacity() {
                // Doubling, but never past a full block.
                block.reserve_exact(block.len().clamp(1, BLOCK - block.len()));
            }
            block.insert(at, key);
        } else if at >= BLOCK / 2 {
            // The new key starts a block with those after it: keys that
            // come in order leave this block full.
            let mut upper = block.split_off(at);
            block.shrink_to_fit();
            upper.insert(0, key);
            self.blocks.insert(key, upper);
            return true;
        } else {
            let upper = block.split_off(BLOCK / 2);
            block.insert(at, key);
            self.blocks.insert(upper[0], upper);
        }
        if at == 0 {
            self.rekey(first);
        }
        true
    }

    /// Removes `key`; false if it was not there.
    pub(super) fn remove(&mut self, key: DueKey) -> bool {
        let Some((&first, block)) = self.blocks.range_mut(..=key).next_back() else {
            return false;
        };
        let Ok(at) = block.binary_search(&key) else {
            return false;
        };
        block.remove(at);
        if block.is_empty() {
            self.blocks.remove(&first);
            return true;
        }
        let low = block.len() < BLOCK / 4;
        if block.len() <= block.capacity() / 4 {
            block.shrink_to_fit();
        }
        let first = if at == 0 { self.rekey(first) } else { first };
        if low {
            self.merge_next(first);
        }
        true
    }

    /// Files the block found by `first` under its first key again; that
    /// key is returned.
    fn rekey(&mut self, first: DueKey) -> DueKey {
        match self.blocks.remove(&first) {
            Some(block) => {
                let key = block.first().copied().unwrap_or(first);
                self.blocks.insert(key, block);
                key
            }
            None => first,
        }
    }

    /// Moves the keys of the block after the one at `first` into it, if
    /// they fit.
    fn merge_next(&mut self, first: DueKey) {
        let next = self
            .blocks
            .range((Bound::Excluded(first), Bound::Unbounded))
            .next()
            .map(|(&key, block)| (key, block.len()));
        let Some(len) = self.blocks.get(&first).map(Vec::len) else {
            return;
        };
        if let Some((next, next_len)) = next.filter(|&(_, n)| len + n <= BLOCK)
            && let Some(moved) = self.blocks.remove(&next)
            && let Some(block) = self.blocks.get_mut(&first)
        {
            block.reserve_exact(next_len);
            block.extend(moved);
        }
    }

    /// Every key, in order.
    pub(super) fn iter(&self) -> impl Iterator<Item = DueKey> + '_ {
        self.blocks.values().flatten().copied()
    }

    /// The first key after `key`.
    pub(super) fn first_after(&self, key: DueKey) -> Option<DueKey> {
        if let Some((_, block)) = self.blocks.range(..=key).next_back() {
            let at = block.partition_point(|k| *k <= key);
            if let Some(&found) = block.get(at) {
                return Some(found);
            }
        }
        self.blocks
            .range((Bound::Excluded(key), Bound::Unbounded))
            .next()
            .and_then(|(_, block)| block.first().copied())
    }

    pub(super) fn clear(&mut self) {
        self.blocks.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn keys_sort_as_their_times_and_read_back() {
        let times = [
            None,
            Some(UNIX_EPOCH - Duration::new(5, 1)),
            Some(UNIX_EPOCH - Duration::new(5, 0)),
            Some(UNIX_EPOCH - Duration::from_nanos(1)),
            Some(UNIX_EPOCH),
            Some(UNIX_EPOCH + Duration::from_nanos(999_999_999)),
            Some(UNIX_EPOCH + Duration::new(1_800_000_000, 5)),
        ];
        for pair in times.windows(2) {
            assert!(DueKey::last(pair[0]) < DueKey::first(pair[1]), "{pair:?}");
        }
        for at in times {
            assert_eq!(DueKey::new(at, 7).at(), at);
        }
    }

    /// Random inserts and removes, in order and not: the blocks hold what
    /// a `BTreeSet` would, in the same order.
    #[test]
    fn blocks_agree_with_a_btreeset() {
        let mut rng = fastrand::Rng::with_seed(11);
        for round in 0..20 {
            let mut due = Due::default();
            let mut set = BTreeSet::new();
            let mut clock = 0u64;
            for step in 0..5_000u32 {
                let time = |t: u64| Some(UNIX_EPOCH + Duration::from_nanos(t));
                let key = match rng.u8(0..4) {
                    // Mostly in order, as timers come.
                    0 | 1 => {
                        clock += rng.u64(0..3);
                        DueKey::new(time(clock), step)
                    }
                    2 if round % 2 == 0 => DueKey::new(None, step),
                    _ => DueKey::new(time(rng.u64(0..clock + 1)), step),
                };
                // Removes more than inserts in some rounds, so blocks drain.
                let removes = if round % 3 == 0 { 3 } else { 1 };
                assert_eq!(due.insert(key), set.insert(key));
                for _ in 0..removes {
                    if rng.bool()
                        && !set.is_empty()
                        && let Some(&gone) = set.iter().nth(rng.usize(0..set.len()))
                    {
                        assert!(due.remove(gone) && set.remove(&gone));
                    }
                }
                assert!(!due.remove(DueKey::new(time(clock + 10), 0)));
                if step % 100 == 0 {
                    assert!(due.iter().eq(set.iter().copied()));
                    let probe = DueKey::new(time(rng.u64(0..clock + 1)), rng.u32(..));
                    let after = set
                        .range((Bound::Excluded(probe), Bound::Unbounded))
                        .next()
                        .copied();
                    assert_eq!(due.first_after(probe), after);
                    for block in due.blocks.values() {
                        assert!(!block.is_empty() && block.len() <= BLOCK);
                    }
                }
            }
            assert!(due.iter().eq(set.iter().copied()));
        }
    }

    /// Keys that come in order fill their blocks.
    #[test]
    fn keys_in_order_fill_their_blocks() {
        let mut due = Due::default();
        for n in 0..10_000u32 {
            due.insert(DueKey::new(
                Some(UNIX_EPOCH + Duration::from_secs(n.into())),
                n,
            ));
        }
        let held: usize = due.blocks.values().map(Vec::capacity).sum();
        assert!(held <= 10_000 + BLOCK, "{held}");
    }
}
