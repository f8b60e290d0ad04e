//! A memory store's histories, encoded compactly.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use super::names::{Name, Names};
use crate::history::{Event, EventKind};
use crate::store::StoreError;

/// Appends `events` to a row's encoded history: per event, its kind (its
/// place in [`EventKind::ALL`]), its timestamp as signed nanoseconds from
/// the execution's start (small while an execution runs quickly), its state
/// as a [`Name`] plus one (0 for none), and its data's length plus one (0
/// for none) followed by the data; numbers as LEB128 varints. Ids are not
/// kept: the store's `check_events` makes them 1, 2, 3, ... with each one's previous
/// the one before. A seven-event history is about 60 bytes this way, where
/// `Vec<Event>` took about 1,000 with its strings.
pub(super) fn encode(
    out: &mut Vec<u8>,
    started_at: SystemTime,
    events: &[Event],
    names: &mut Names,
) -> Result<(), StoreError> {
    for event in events {
        // Destructured whole, so a field added to `Event` fails to compile
        // here instead of being dropped.
        let &Event {
            id: _,
            previous_event_id: _,
            timestamp,
            kind,
            ref state,
            ref data,
        } = event;
        let kind = EventKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(EventKind::ALL.len());
        put(out, kind as u128);
        let offset = match timestamp.duration_since(started_at) {
            Ok(after) => after.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        };
        // Zigzag, so a timestamp just before the start stays short.
        put(out, ((offset << 1) ^ (offset >> 127)) as u128);
        let state = match state {
            None => None,
            Some(Cow::Borrowed(state)) => Some(names.intern_static(state)?),
            Some(Cow::Owned(state)) => Some(names.intern(state)?),
        };
        put(out, state.map_or(0, |n| u128::from(n) + 1));
        match data {
            None => put(out, 0),
            Some(data) => {
                put(out, data.len() as u128 + 1);
                out.extend_from_slice(data.as_bytes());
            }
        }
    }
    Ok(())
}

/// The history [`encode`] wrote.
pub(super) fn decode(
    execution: &str,
    mut bytes: &[u8],
    started_at: SystemTime,
    names: &Names,
) -> Result<Vec<Event>, StoreError> {
    let corrupt = |detail: &str| StoreError::Corrupt {
        execution: execution.to_owned(),
        what: "history",
        detail: detail.to_owned(),
    };
    let mut events = Vec::new();
    while !bytes.is_empty() {
        let mut next = || take(&mut bytes).ok_or_else(|| corrupt("a number is cut short"));
        let kind = usize::try_from(next()?)
            .ok()
            .and_then(|k| EventKind::ALL.get(k).copied())
            .ok_or_else(|| corrupt("an unknown event kind"))?;
        let zigzag = next()?;
        let offset = ((zigzag >> 1) as i128) ^ -((zigzag & 1) as i128);
        let state = match next()? {
            0 => None,
            n => {
                let name = Name::try_from(n - 1).map_err(|_| corrupt("an unknown state"))?;
                Some(names.get(name).to_owned().into())
            }
        };
        let data = match next()? {
            0 => None,
            n => {
                let len = usize::try_from(n - 1)
                    .ok()
                    .filter(|&len| len <= bytes.len())
                    .ok_or_else(|| corrupt("data runs past the end"))?;
                let (data, rest) = bytes.split_at(len);
                bytes = rest;
                let data = std::str::from_utf8(data).map_err(|_| corrupt("data is not UTF-8"))?;
                Some(data.to_owned())
            }
        };
        let nanos = offset.unsigned_abs();
        let span = u64::try_from(nanos / 1_000_000_000)
            .ok()
            .map(|secs| Duration::new(secs, (nanos % 1_000_000_000) as u32));
        let timestamp = span
            .and_then(|span| {
                if offset < 0 {
                    started_at.checked_sub(span)
                } else {
                    started_at.checked_add(span)
                }
            })
            .ok_or_else(|| corrupt("a timestamp out of range"))?;
        let id = events.len() as u64 + 1;
        events.push(Event {
            id,
            previous_event_id: id - 1,
            timestamp,
            kind,
            state,
            data,
        });
    }
    Ok(events)
}

/// Writes `n` as a LEB128 varint.
#[inline]
fn put(out: &mut Vec<u8>, n: u128) {
    // Most numbers (kinds, states, short data's lengths) take one byte.
    if n < 0x80 {
        out.push(n as u8);
    } else {
        put_long(out, n);
    }
}

/// [`put`] for a number of two bytes or more.
fn put_long(out: &mut Vec<u8>, n: u128) {
    // At most 19 bytes for 128 bits, written at once; in 64-bit steps
    // while the rest fits (a timestamp's offset mostly does).
    let mut bytes = [0u8; 19];
    let mut len = 0;
    let mut rest = n;
    while rest > u128::from(u64::MAX) {
        bytes[len] = (rest as u8) | 0x80;
        rest >>= 7;
        len += 1;
    }
    let mut small = rest as u64;
    while small >= 0x80 {
        bytes[len] = (small as u8) | 0x80;
        small >>= 7;
        len += 1;
    }
    bytes[len] = small as u8;
    out.extend_from_slice(&bytes[..=len]);
}

/// Reads a LEB128 varint off the front of `bytes`.
fn take(bytes: &mut &[u8]) -> Option<u128> {
    let mut n = 0u128;
    for (i, &byte) in bytes.iter().enumerate().take(19) {
        n |= u128::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// Every kind, timestamps before, at and long after the start, and
    /// every shape of state and data read back as written.
    #[test]
    fn an_encoded_history_decodes_to_what_was_written() {
        let start = at(1_000);
        let times = [
            start,
            start + Duration::from_nanos(1),
            start - Duration::from_nanos(1),
            start - Duration::from_secs(1_000),
            start + Duration::new(86_400 * 365 * 200, 999_999_999),
            UNIX_EPOCH,
        ];
        let data = [None, Some(String::new()), Some("{\"é\":[1,2]}".repeat(20))];
        let states = [None, Some("Prepare".into()), Some(String::new().into())];
        let events: Vec<Event> = EventKind::ALL
            .iter()
            .enumerate()
            .map(|(i, &kind)| Event {
                id: i as u64 + 1,
                previous_event_id: i as u64,
                timestamp: times[i % times.len()],
                kind,
                state: states[i % states.len()].clone(),
                data: data[(i / 3) % data.len()].clone(),
            })
            .collect();
        let mut names = Names::default();
        let mut bytes = Vec::new();
        // In two commits, as a row is appended to.
        let (first, second) = events.split_at(5);
        encode(&mut bytes, start, first, &mut names).unwrap();
        encode(&mut bytes, start, second, &mut names).unwrap();
        assert_eq!(decode("e1", &bytes, start, &names).unwrap(), events);
        // Cut short, it is a typed error, not a panic.
        for end in 0..bytes.len() {
            let cut = decode("e1", &bytes[..end], start, &names);
            assert!(
                cut.is_err() || end == 0 || cut.as_ref().is_ok_and(|e| e.len() < events.len()),
                "{cut:?}"
            );
        }
    }
}
