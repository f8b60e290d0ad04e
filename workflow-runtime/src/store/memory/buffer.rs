//! A row's bytes, in two words where a `Vec` takes three: room to grow
//! while its execution runs, none once it parks or ends.
//!
//! While an execution is held and committing, its buffer is "roomy": it
//! grows by doubling (copying the whole at each commit measured about a
//! third slower in `benches/durable.rs`) and ends with a [`TRAILER`] that counts
//! the bytes in use. Once it parks or ends, [`Row::trim`] copies what it
//! holds into a buffer of exactly that size, without the trailer: a fresh
//! allocation, so also one glibc chunk of that size (a chunk shrunk in
//! place keeps a remainder under 32 bytes).

use super::row::Row;

/// The bytes at the end of a roomy buffer that hold how much of it is in
/// use, a little-endian `u32`.
const TRAILER: usize = 4;
/// The least a roomy buffer takes, trailer included.
const LEAST: usize = 64;

impl Row {
    /// What the buffer holds.
    pub(super) fn bytes(&self) -> &[u8] {
        let data = &self.data[..];
        if !self.roomy || data.len() < TRAILER {
            return data;
        }
        let (body, trailer) = data.split_at(data.len() - TRAILER);
        let used = trailer.try_into().map_or(0, u32::from_le_bytes) as usize;
        body.get(..used).unwrap_or(body)
    }

    /// Keeps the first `keep` bytes and writes `parts` after them, leaving
    /// the buffer roomy; false (and the buffer as it was) if the whole would
    /// not be countable in a `u32`.
    pub(super) fn replace_from(&mut self, keep: usize, parts: &[&[u8]]) -> bool {
        let old = self.bytes();
        let keep = keep.min(old.len());
        let used = keep + parts.iter().map(|part| part.len()).sum::<usize>();
        let Ok(count) = u32::try_from(used) else {
            return false;
        };
        if !(self.roomy && used + TRAILER <= self.data.len()) {
            // At least twice as long as needed, so that each byte of a
            // growing history is copied a bounded number of times.
            let size = (used + TRAILER).next_power_of_two().max(LEAST);
            let mut fresh = vec![0; size].into_boxed_slice();
            fresh[..keep].copy_from_slice(&old[..keep]);
            self.data = fresh;
            self.roomy = true;
        }
        let mut at = keep;
        for part in parts {
            self.data[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        let end = self.data.len();
        self.data[end - TRAILER..].copy_from_slice(&count.to_le_bytes());
        true
    }

    /// Drops the room to grow: the execution parked or ended, and will not
    /// grow for a while.
    pub(super) fn trim(&mut self) {
        if self.roomy {
            self.data = self.bytes().into();
            self.roomy = false;
        }
    }

    /// The bytes, leaving the buffer empty.
    pub(super) fn take_bytes(&mut self) -> Box<[u8]> {
        self.roomy = false;
        std::mem::take(&mut self.data)
    }

    /// The bytes allocated, room to grow included.
    #[cfg(test)]
    pub(super) fn allocated(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Status;

    /// Written and rewritten from every kind of point, growing and
    /// shrinking, trimmed now and then, the buffer holds what a `Vec`
    /// would; roomy, it keeps room to grow, and trimmed, none.
    #[test]
    fn a_buffer_holds_what_a_vec_would() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut row = Row::empty(Status::Running);
        let mut expected: Vec<u8> = Vec::new();
        for step in 0..3_000 {
            let grow = if step % 1_000 < 900 { 40 } else { 0 };
            let part: Vec<u8> = (0..rng.usize(0..grow + 20)).map(|_| rng.u8(..)).collect();
            let keep = if rng.u8(0..10) == 0 {
                rng.usize(0..=expected.len())
            } else {
                expected.len()
            };
            assert!(row.replace_from(keep, &[&part, b"!"]));
            expected.truncate(keep);
            expected.extend_from_slice(&part);
            expected.push(b'!');
            assert_eq!(row.bytes(), expected);
            assert!(row.allocated() >= expected.len() + TRAILER);
            if step % 97 == 0 {
                row.trim();
                assert_eq!(row.bytes(), expected);
                assert_eq!(row.allocated(), expected.len());
                row.trim();
                assert_eq!(row.bytes(), expected);
            }
        }
        assert!(row.take_bytes().len() >= expected.len());
        assert!(row.bytes().is_empty());
    }
}
