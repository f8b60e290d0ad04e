//! The byte encodings a memory store's rows are made of: varints, times
//! and texts, each read back exactly as written.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Writes `n` as a LEB128 varint.
#[inline]
pub(super) fn put(out: &mut Vec<u8>, n: u128) {
    // Most numbers (kinds, names, fences, short lengths) take one byte.
    if n < 0x80 {
        out.push(n as u8);
    } else {
        put_long(out, n);
    }
}

/// [`put`] for a number of two bytes or more.
fn put_long(out: &mut Vec<u8>, n: u128) {
    // At most 19 bytes for 128 bits, written at once; in 64-bit steps
    // while the rest fits (a time's offset mostly does).
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
pub(super) fn take(bytes: &mut &[u8]) -> Option<u128> {
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

/// [`take`], for a number that must fit a `u64`.
pub(super) fn take_u64(bytes: &mut &[u8]) -> Option<u64> {
    take(bytes).and_then(|n| u64::try_from(n).ok())
}

/// [`take`], for a number that must fit a `u32`.
pub(super) fn take_u32(bytes: &mut &[u8]) -> Option<u32> {
    take(bytes).and_then(|n| u32::try_from(n).ok())
}

/// Writes a signed number, zigzagged so that small negatives stay short.
pub(super) fn put_signed(out: &mut Vec<u8>, n: i128) {
    put(out, ((n << 1) ^ (n >> 127)) as u128);
}

/// Reads what [`put_signed`] wrote.
pub(super) fn take_signed(bytes: &mut &[u8]) -> Option<i128> {
    let zigzag = take(bytes)?;
    Some(((zigzag >> 1) as i128) ^ -((zigzag & 1) as i128))
}

/// `time` as signed nanoseconds from `base`: every `SystemTime` fits (its
/// seconds are an `i64`).
pub(super) fn offset(time: SystemTime, base: SystemTime) -> i128 {
    match time.duration_since(base) {
        Ok(after) => after.as_nanos() as i128,
        Err(before) => -(before.duration().as_nanos() as i128),
    }
}

/// The time `nanos` from `base`, if the platform can hold it.
pub(super) fn shifted(base: SystemTime, nanos: i128) -> Option<SystemTime> {
    let magnitude = nanos.unsigned_abs();
    let span = match u64::try_from(magnitude) {
        // Most offsets (those under 584 years): 64-bit division, where
        // 128-bit division is a call that showed in profiles.
        Ok(small) => Duration::from_nanos(small),
        Err(_) => {
            let secs = u64::try_from(magnitude / 1_000_000_000).ok()?;
            Duration::new(secs, (magnitude % 1_000_000_000) as u32)
        }
    };
    if nanos < 0 {
        base.checked_sub(span)
    } else {
        base.checked_add(span)
    }
}

/// Writes `time` as its offset from `base` (an execution's start, so that
/// the times of one execution stay short).
pub(super) fn put_time(out: &mut Vec<u8>, time: SystemTime, base: SystemTime) {
    put_signed(out, offset(time, base));
}

/// Reads what [`put_time`] wrote.
pub(super) fn take_time(bytes: &mut &[u8], base: SystemTime) -> Option<SystemTime> {
    shifted(base, take_signed(bytes)?)
}

/// Reads a time written from the Unix epoch.
pub(super) fn take_epoch_time(bytes: &mut &[u8]) -> Option<SystemTime> {
    take_time(bytes, UNIX_EPOCH)
}

/// A text's tag for 32 lowercase hex digits (the engine's execution ids),
/// kept as the 16 bytes they spell.
const HEX_16: u128 = 0;
/// A text's tag for 64 lowercase hex digits (the engine's callback
/// secrets), kept as the 32 bytes they spell.
const HEX_32: u128 = 1;
/// What is added to a plain text's length to make its tag.
const PLAIN: u128 = 2;

/// Writes a text: the engine's hex ids and secrets as the bytes they spell
/// (half the size), anything else as its length and UTF-8. Lowercase hex
/// only, so each text has one encoding and encodings compare as the texts
/// do for equality.
pub(super) fn put_text(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let hex_tag = match bytes.len() {
        32 => Some(HEX_16),
        64 => Some(HEX_32),
        _ => None,
    };
    if let Some(tag) = hex_tag.filter(|_| bytes.iter().all(|&b| digit(b).is_some())) {
        put(out, tag);
        out.extend(
            bytes
                .chunks_exact(2)
                .map(|pair| (digit(pair[0]).unwrap_or(0) << 4) | digit(pair[1]).unwrap_or(0)),
        );
    } else {
        put(out, bytes.len() as u128 + PLAIN);
        out.extend_from_slice(bytes);
    }
}

/// A lowercase hex digit's value.
fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Splits an encoded text, tag included, off the front of `bytes`: what a
/// key is compared and hashed as.
pub(super) fn take_raw_text<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let whole = *bytes;
    let mut rest = whole;
    let len = match take(&mut rest)? {
        HEX_16 => 16,
        HEX_32 => 32,
        tag => usize::try_from(tag - PLAIN).ok()?,
    };
    let end = (whole.len() - rest.len()).checked_add(len)?;
    let raw = whole.get(..end)?;
    *bytes = &whole[end..];
    Some(raw)
}

/// Reads a text off the front of `bytes`.
pub(super) fn take_text(bytes: &mut &[u8]) -> Option<String> {
    read_text(take_raw_text(bytes)?)
}

/// The text an encoding (from [`take_raw_text`]) spells.
pub(super) fn read_text(mut raw: &[u8]) -> Option<String> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match take(&mut raw)? {
        HEX_16 | HEX_32 => Some(
            raw.iter()
                .flat_map(|&b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
                .map(char::from)
                .collect(),
        ),
        _ => std::str::from_utf8(raw).ok().map(str::to_owned),
    }
}

/// Whether an encoding (from [`take_raw_text`]) spells `text`, read
/// without decoding it.
pub(super) fn text_is(raw: &[u8], text: &str) -> bool {
    let mut rest = raw;
    match take(&mut rest) {
        Some(tag) if tag >= PLAIN => rest == text.as_bytes(),
        Some(_) => encoded(text) == raw,
        None => false,
    }
}

/// A text's encoding on its own, to look a key up by.
pub(super) fn encoded(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 2);
    put_text(&mut out, text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_read_back_as_written() {
        let hex = "0123456789abcdef";
        for text in [
            hex.repeat(2),
            hex.repeat(4),
            "0123456789ABCDEF".repeat(2),
            "ab".repeat(31) + "zz",
            hex.repeat(3),
            String::new(),
            "short".to_owned(),
            "é".repeat(16),
            "x".repeat(300),
        ] {
            let mut out = vec![7];
            put_text(&mut out, &text);
            out.push(9);
            let mut bytes = &out[1..];
            assert_eq!(take_text(&mut bytes).as_deref(), Some(text.as_str()));
            assert_eq!(bytes, [9]);
        }
        for (raw, text) in [(hex.repeat(2), hex.repeat(2)), ("ab".into(), "ab".into())] {
            assert!(text_is(&encoded(&raw), &text));
            assert!(!text_is(&encoded(&raw), &text[1..]));
        }
        // Hex texts take half their length, and one byte for the tag.
        assert_eq!(encoded(&hex.repeat(2)).len(), 17);
        assert_eq!(encoded(&hex.repeat(4)).len(), 33);
        // Cut short: nothing, not a panic.
        let whole = encoded(&"x".repeat(10));
        for end in 0..whole.len() {
            assert_eq!(take_raw_text(&mut &whole[..end]), None);
        }
    }

    #[test]
    fn times_read_back_as_written() {
        let base = UNIX_EPOCH + Duration::new(1_800_000_000, 5);
        for time in [
            base,
            base + Duration::from_nanos(1),
            base - Duration::from_nanos(1),
            UNIX_EPOCH,
            UNIX_EPOCH - Duration::new(86_400 * 365 * 300, 7),
            base + Duration::new(86_400 * 365 * 200, 999_999_999),
        ] {
            let mut out = Vec::new();
            put_time(&mut out, time, base);
            put_time(&mut out, time, UNIX_EPOCH);
            let mut bytes = &out[..];
            assert_eq!(take_time(&mut bytes, base), Some(time));
            assert_eq!(take_epoch_time(&mut bytes), Some(time));
            assert!(bytes.is_empty());
        }
    }
}
