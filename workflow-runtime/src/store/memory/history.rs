//! A memory store's histories, encoded compactly.

use std::borrow::Cow;
use std::time::SystemTime;

use super::codec::{offset, put, put_text, shifted, take, take_text, take_u32, text_is};
use super::names::{Name, Names};
use crate::history::{Event, EventKind};
use crate::store::StoreError;

// An event's kind and state mode share its first byte.
const _: () = assert!(EventKind::ALL.len() <= KIND_MASK as usize);

/// The bits of an event's first byte that hold its kind (its place in
/// [`EventKind::ALL`]).
const KIND_MASK: u8 = 0x3f;
/// State modes, in the first byte's top two bits: no state, the previous
/// event's state, or a [`Name`] that follows.
const STATE_NONE: u8 = 0;
const STATE_SAME: u8 = 1 << 6;
const STATE_NAMED: u8 = 2 << 6;

/// Data modes, in the time's low two bits: none, the previous event's
/// data, the execution's input, or a text that follows.
const DATA_NONE: u128 = 0;
const DATA_SAME: u128 = 1;
const DATA_INPUT: u128 = 2;
const DATA_TEXT: u128 = 3;
/// The bits under a time's offset: the data mode, then whether the offset
/// is from the previous event.
const TIME_SHIFT: u32 = 3;
const RELATIVE: u128 = 4;

/// Appends one commit's `events` to a row's encoded history. Per event:
/// a byte with its kind and whether its state is none, the previous
/// event's or a [`Name`] that follows (the name, as a varint); then one
/// varint with its timestamp, as signed nanoseconds from the previous
/// event in the same commit or from the execution's start (a commit's
/// first event), whether it is the one or the other, and the mode of its
/// data: none, the previous event's, the execution's `input`, or a text
/// that follows. A state's data mostly repeats what the event before it
/// carried, or the input, so most events take two to four bytes. Ids are not kept: the store's `check_events`
/// makes them 1, 2, 3, ... with each one's previous the one before.
///
/// Only events of the same commit are referred back to, so appending never
/// reads what earlier commits wrote.
pub(super) fn encode(
    out: &mut Vec<u8>,
    started_at: SystemTime,
    input: &[u8],
    events: &[Event],
    names: &mut Names,
) -> Result<(), StoreError> {
    let mut previous: Option<&Event> = None;
    for event in events {
        // Destructured whole, so a field added to `Event` fails to compile
        // here instead of being dropped.
        let Event {
            id: _,
            previous_event_id: _,
            timestamp,
            kind,
            state,
            data,
        } = event;
        let kind = EventKind::ALL
            .iter()
            .position(|k| k == kind)
            .unwrap_or(EventKind::ALL.len()) as u8;
        let same_state = previous.is_some_and(|p| p.state == *state);
        let named = match state {
            _ if same_state => None,
            None => None,
            Some(Cow::Borrowed(state)) => Some(names.intern_static(state)?),
            Some(Cow::Owned(state)) => Some(names.intern(state)?),
        };
        let mode = match (state, same_state) {
            (None, _) => STATE_NONE,
            (Some(_), true) => STATE_SAME,
            (Some(_), false) => STATE_NAMED,
        };
        out.push(kind | mode);
        if let Some(name) = named {
            put(out, u128::from(name));
        }
        let (base, relative) = match previous {
            Some(p) => (p.timestamp, RELATIVE),
            None => (started_at, 0),
        };
        let mode = match data {
            None => DATA_NONE,
            Some(_) if previous.is_some_and(|p| p.data == *data) => DATA_SAME,
            Some(data) if text_is(input, data) => DATA_INPUT,
            Some(_) => DATA_TEXT,
        };
        let nanos = offset(*timestamp, base);
        put(out, (zigzag(nanos) << TIME_SHIFT) | relative | mode);
        if let (DATA_TEXT, Some(data)) = (mode, data) {
            put_text(out, data);
        }
        previous = Some(event);
    }
    Ok(())
}

fn zigzag(n: i128) -> u128 {
    ((n << 1) ^ (n >> 127)) as u128
}

/// The history [`encode`] wrote, for the execution that started at
/// `started_at` with `input`.
pub(super) fn decode(
    execution: &str,
    mut bytes: &[u8],
    started_at: SystemTime,
    input: &str,
    names: &Names,
) -> Result<Vec<Event>, StoreError> {
    let corrupt = |detail: &str| StoreError::Corrupt {
        execution: execution.to_owned(),
        what: "history",
        detail: detail.to_owned(),
    };
    let cut = || corrupt("an event is cut short");
    let mut events: Vec<Event> = Vec::new();
    while let Some((&first, rest)) = bytes.split_first() {
        bytes = rest;
        let kind = EventKind::ALL
            .get(usize::from(first & KIND_MASK))
            .copied()
            .ok_or_else(|| corrupt("an unknown event kind"))?;
        let previous = events.last();
        let state = match first & !KIND_MASK {
            STATE_NONE => None,
            STATE_SAME => previous
                .ok_or_else(|| corrupt("the first event refers back"))?
                .state
                .clone(),
            STATE_NAMED => {
                let name: Name = take_u32(&mut bytes).ok_or_else(cut)?;
                Some(Cow::Owned(names.get(name).to_owned()))
            }
            _ => return Err(corrupt("an unknown state mode")),
        };
        let time = take(&mut bytes).ok_or_else(cut)?;
        let base = match (time & RELATIVE, previous) {
            (0, _) => started_at,
            (_, Some(p)) => p.timestamp,
            (_, None) => return Err(corrupt("the first event refers back")),
        };
        let offset = time >> TIME_SHIFT;
        let nanos = ((offset >> 1) as i128) ^ -((offset & 1) as i128);
        let timestamp = shifted(base, nanos).ok_or_else(|| corrupt("a time out of range"))?;
        let data = match time & DATA_TEXT {
            DATA_NONE => None,
            DATA_SAME => previous
                .ok_or_else(|| corrupt("the first event refers back"))?
                .data
                .clone(),
            DATA_INPUT => Some(input.to_owned()),
            _ => Some(take_text(&mut bytes).ok_or_else(cut)?),
        };
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::super::codec::encoded;
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// Every kind, with every shape of state (none, a static name, an owned
    /// one, the previous event's, empty), of data (none, empty, the
    /// previous event's, the input, JSON of its own, hex-looking, long) and
    /// of time (before, at and long after the start, before the previous
    /// event, the epoch), committed in several batches: each reads back as
    /// written.
    #[test]
    fn every_event_kind_and_shape_reads_back_as_written() {
        let start = at(1_000);
        let input = "{\"order\":\"é\"}";
        let times = [
            start,
            start + Duration::from_nanos(1),
            start - Duration::from_nanos(1),
            start - Duration::from_secs(1_000),
            start + Duration::new(86_400 * 365 * 200, 999_999_999),
            start + Duration::from_millis(3),
            UNIX_EPOCH,
            start + Duration::from_millis(3),
        ];
        let states: [Option<Cow<'static, str>>; 5] = [
            None,
            Some("Prepare".into()),
            Some("Prepare".to_owned().into()),
            Some(String::new().into()),
            Some("Sleep".into()),
        ];
        let data = [
            None,
            Some(String::new()),
            Some(input.to_owned()),
            Some("{\"é\":[1,2]}".repeat(20)),
            Some("0123456789abcdef".repeat(2)),
            Some("12346".to_owned()),
            Some("12346".to_owned()),
        ];
        let events: Vec<Event> = EventKind::ALL
            .iter()
            .chain(EventKind::ALL)
            .enumerate()
            .map(|(i, &kind)| Event {
                id: i as u64 + 1,
                previous_event_id: i as u64,
                timestamp: times[i % times.len()],
                kind,
                state: states[(i / 2) % states.len()].clone(),
                data: data[i % data.len()].clone(),
            })
            .collect();
        let mut names = Names::default();
        let mut bytes = Vec::new();
        // In batches of several sizes, as a row is appended to.
        let mut rest = &events[..];
        for size in [1, 5, 2, 30].into_iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (batch, after) = rest.split_at(size.min(rest.len()));
            encode(&mut bytes, start, &encoded(input), batch, &mut names).unwrap();
            rest = after;
        }
        assert_eq!(decode("e1", &bytes, start, input, &names).unwrap(), events);
        // Repeated states and data are referred back to, not written again.
        let mut once = Vec::new();
        encode(&mut once, start, &encoded(input), &events, &mut names).unwrap();
        assert!(once.len() < bytes.len(), "{} {}", once.len(), bytes.len());
        assert_eq!(decode("e1", &once, start, input, &names).unwrap(), events);
        // Cut short, it is a typed error or fewer events, never a panic.
        for end in 0..once.len() {
            match decode("e1", &once[..end], start, input, &names) {
                Ok(read) => assert!(read.len() < events.len()),
                Err(error) => assert!(matches!(error, StoreError::Corrupt { .. })),
            }
        }
        // Any byte can be read, and none panics.
        for (i, byte) in once.iter().enumerate() {
            let mut changed = once.clone();
            changed[i] = byte ^ 0xff;
            let _ = decode("e1", &changed, start, input, &names);
        }
    }

    /// The events a parked execution of a small workflow has (a task, then
    /// a wait) take a few bytes each.
    #[test]
    fn a_small_history_is_a_few_bytes_an_event() {
        let start = at(1_800_000_000);
        let micros = |n: u64| start + Duration::from_micros(n);
        let event = |id: u64, kind, time, state: Option<&'static str>, data: Option<&str>| Event {
            id,
            previous_event_id: id - 1,
            timestamp: time,
            kind,
            state: state.map(Cow::Borrowed),
            data: data.map(str::to_owned),
        };
        use EventKind::*;
        let first = [
            event(1, ExecutionStarted, micros(334), None, Some("12345")),
            event(
                2,
                TaskStateEntered,
                micros(343),
                Some("Prepare"),
                Some("12345"),
            ),
            event(3, TaskScheduled, micros(343), Some("Prepare"), None),
            event(4, TaskStarted, micros(343), Some("Prepare"), None),
        ];
        let second = [
            event(5, TaskSucceeded, micros(392), Some("Prepare"), None),
            event(
                6,
                TaskStateExited,
                micros(392),
                Some("Prepare"),
                Some("12346"),
            ),
            event(
                7,
                WaitStateEntered,
                micros(398),
                Some("Sleep"),
                Some("12346"),
            ),
        ];
        let mut names = Names::default();
        let mut bytes = Vec::new();
        let input = encoded("12345");
        encode(&mut bytes, start, &input, &first, &mut names).unwrap();
        encode(&mut bytes, start, &input, &second, &mut names).unwrap();
        let all: Vec<Event> = first.into_iter().chain(second).collect();
        assert_eq!(decode("e1", &bytes, start, "12345", &names).unwrap(), all);
        assert!(bytes.len() <= 34, "{} bytes", bytes.len());
    }
}
