//! Finding a row by its id or its name without keeping the text twice.

use std::hash::BuildHasher;

use super::{HashMap, Slot};

/// Rows by a unique key (an id, a name), the key itself kept only in the
/// row: the map holds the key's 32-bit hash and the row's slot, 8 bytes
/// where a copy of the key took 50 or more. A hit is checked against the
/// row's key; a key whose hash another key already holds goes to `more`,
/// by itself (with a random seed per map, that takes tens of thousands of
/// keys, and then only a few of them).
#[derive(Debug, Default)]
pub(super) struct Keys {
    hasher: foldhash::fast::RandomState,
    first: HashMap<u32, Slot>,
    more: HashMap<Box<[u8]>, Slot>,
}

impl Keys {
    fn hash(&self, key: &[u8]) -> u32 {
        // The low half: the maps hash it again, so any half will do.
        self.hasher.hash_one(key) as u32
    }

    /// The slot of `key` (encoded as rows keep it), where `key_of` gives a
    /// slot's key.
    pub(super) fn get<'a>(&self, key: &[u8], key_of: impl Fn(Slot) -> &'a [u8]) -> Option<Slot> {
        match self.first.get(&self.hash(key)) {
            Some(&slot) if key_of(slot) == key => Some(slot),
            _ if self.more.is_empty() => None,
            _ => self.more.get(key).copied(),
        }
    }

    /// Adds `key`, which must not be here.
    pub(super) fn insert(&mut self, key: &[u8], slot: Slot) {
        let hash = self.hash(key);
        match self.first.entry(hash) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.more.insert(key.into(), slot);
            }
            std::collections::hash_map::Entry::Vacant(vacant) => {
                vacant.insert(slot);
            }
        }
    }

    /// Removes `key`, if it is here.
    pub(super) fn remove<'a>(&mut self, key: &[u8], key_of: impl Fn(Slot) -> &'a [u8]) {
        let hash = self.hash(key);
        match self.first.get(&hash) {
            Some(&slot) if key_of(slot) == key => {
                self.first.remove(&hash);
            }
            _ => {
                self.more.remove(key);
            }
        }
    }

    pub(super) fn clear(&mut self) {
        self.first.clear();
        self.more.clear();
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.first.len() + self.more.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys that share a hash: the second goes to `more`, and each is
    /// found, and removed, as itself.
    #[test]
    fn keys_that_share_a_hash_are_told_apart() {
        let rows: Vec<Vec<u8>> = (0..400_000u32).map(|n| n.to_le_bytes().to_vec()).collect();
        let key_of = |slot: Slot| rows[slot as usize].as_slice();
        let mut keys = Keys::default();
        for (slot, key) in rows.iter().enumerate() {
            keys.insert(key, slot as Slot);
        }
        // 400,000 keys in 2^32 hashes: about 19 pairs collide.
        assert!(!keys.more.is_empty());
        assert_eq!(keys.len(), rows.len());
        for (slot, key) in rows.iter().enumerate() {
            assert_eq!(keys.get(key, key_of), Some(slot as Slot));
        }
        assert_eq!(keys.get(b"absent", key_of), None);
        for key in rows.iter().step_by(2) {
            keys.remove(key, key_of);
        }
        for (slot, key) in rows.iter().enumerate() {
            let expected = (slot % 2 == 1).then_some(slot as Slot);
            assert_eq!(keys.get(key, key_of), expected);
        }
        assert_eq!(keys.len(), rows.len() / 2);
    }
}
