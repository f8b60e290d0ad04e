//! A row's bytes in two words where a `Vec` takes three: a parked row
//! needs no capacity apart from its length.

/// Up to this many bytes, a buffer is exactly as long as what it holds,
/// and every write allocates it anew at its size: a row is then one glibc
/// chunk of its own size (a chunk shrunk in place keeps a remainder under
/// 32 bytes).
const EXACT_UP_TO: usize = 4096;
/// Past [`EXACT_UP_TO`], a buffer ends with this many bytes that hold how
/// much of it is used (a little-endian `u32`), so it can grow by doubling:
/// a long history would otherwise be copied whole at each commit.
const TRAILER: usize = 4;

/// Bytes that are replaced from a point on (see [`replace_from`]).
///
/// [`replace_from`]: Buffer::replace_from
#[derive(Debug, Default)]
pub(super) struct Buffer(Box<[u8]>);

impl Buffer {
    /// A buffer holding `bytes`; `None` if they are too many to count in
    /// a `u32`.
    pub(super) fn new(bytes: &[u8]) -> Option<Buffer> {
        let mut buffer = Buffer::default();
        buffer.replace_from(0, &[bytes]).then_some(buffer)
    }

    /// Whether the buffer ends with a [`TRAILER`].
    fn large(&self) -> bool {
        self.0.len() > EXACT_UP_TO
    }

    /// What the buffer holds.
    pub(super) fn bytes(&self) -> &[u8] {
        if !self.large() {
            return &self.0;
        }
        let (body, trailer) = self.0.split_at(self.0.len() - TRAILER);
        let used = trailer.try_into().map_or(0, u32::from_le_bytes) as usize;
        body.get(..used).unwrap_or(body)
    }

    /// Keeps the first `keep` bytes and writes `parts` after them; false
    /// (and the buffer as it was) if the whole would not be countable in a
    /// `u32`.
    pub(super) fn replace_from(&mut self, keep: usize, parts: &[&[u8]]) -> bool {
        let old = self.bytes();
        let keep = keep.min(old.len());
        let used = keep + parts.iter().map(|part| part.len()).sum::<usize>();
        let Ok(count) = u32::try_from(used) else {
            return false;
        };
        if used <= EXACT_UP_TO {
            let mut fresh = Vec::with_capacity(used);
            fresh.extend_from_slice(&old[..keep]);
            for part in parts {
                fresh.extend_from_slice(part);
            }
            self.0 = fresh.into_boxed_slice();
            return true;
        }
        if !(self.large() && used + TRAILER <= self.0.len()) {
            // At least twice as long as needed, so that each byte of a
            // growing history is copied a bounded number of times.
            let size = (used + TRAILER).next_power_of_two();
            let mut fresh = vec![0; size].into_boxed_slice();
            fresh[..keep].copy_from_slice(&old[..keep]);
            self.0 = fresh;
        }
        let mut at = keep;
        for part in parts {
            self.0[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        let end = self.0.len();
        self.0[end - TRAILER..].copy_from_slice(&count.to_le_bytes());
        true
    }

    /// Drops the room a large buffer keeps to grow: its row parked or
    /// ended, and will not grow for a while.
    pub(super) fn trim(&mut self) {
        let used = self.bytes().len();
        if self.large() && used + TRAILER < self.0.len() {
            let mut fresh = Vec::with_capacity(used + TRAILER);
            fresh.extend_from_slice(self.bytes());
            fresh.extend_from_slice(&self.0[self.0.len() - TRAILER..]);
            self.0 = fresh.into_boxed_slice();
        }
    }

    /// The bytes, leaving the buffer empty.
    pub(super) fn take(&mut self) -> Box<[u8]> {
        std::mem::take(&mut self.0)
    }

    /// The bytes allocated, room to grow included.
    #[cfg(test)]
    pub(super) fn allocated(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written and rewritten from every kind of point, small and large, the
    /// buffer holds what a `Vec` would; a large one keeps room to grow, and
    /// gives it back when trimmed.
    #[test]
    fn a_buffer_holds_what_a_vec_would() {
        let mut rng = fastrand::Rng::with_seed(3);
        let mut buffer = Buffer::default();
        let mut expected: Vec<u8> = Vec::new();
        for step in 0..3_000 {
            let keep = rng.usize(0..=expected.len());
            // Mostly growing, past EXACT_UP_TO and back below it.
            let grow = if step % 1_000 < 900 { 40 } else { 0 };
            let part: Vec<u8> = (0..rng.usize(0..grow + 20)).map(|_| rng.u8(..)).collect();
            let keep = if rng.u8(0..10) == 0 {
                keep
            } else {
                expected.len()
            };
            assert!(buffer.replace_from(keep, &[&part, b"!"]));
            expected.truncate(keep);
            expected.extend_from_slice(&part);
            expected.push(b'!');
            assert_eq!(buffer.bytes(), expected);
            if expected.len() <= EXACT_UP_TO {
                assert_eq!(buffer.allocated(), expected.len());
            } else {
                assert!(buffer.allocated() >= expected.len() + TRAILER);
            }
            if step % 97 == 0 {
                buffer.trim();
                assert_eq!(buffer.bytes(), expected);
                let exact = expected.len()
                    + if expected.len() > EXACT_UP_TO {
                        TRAILER
                    } else {
                        0
                    };
                assert_eq!(buffer.allocated(), exact);
            }
        }
        let new = Buffer::new(&expected).unwrap();
        assert_eq!(new.bytes(), expected);
        assert!(buffer.take().len() >= expected.len());
        assert!(buffer.bytes().is_empty());
    }
}
