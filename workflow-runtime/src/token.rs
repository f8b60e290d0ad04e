//! Callback tokens: what a task hands out, and how the engine tells a
//! token it minted from a forged one.
//!
//! Every execution gets a random secret when it is created, stored with it.
//! A task's token is its *key* (the idempotency key,
//! `<execution id>/<state>/<entry>`, where a branch's or a map item's
//! execution id is its root's id followed by `/<state>/<entry>/<index>`)
//! and an HMAC-SHA256 of the key under the secret, both in URL-safe base64:
//! minting needs no store access (so it stays synchronous and gives the
//! same token after a restart), and checking one recomputes the MAC.
//! Knowing an execution's id, or any number of its other tokens, does not
//! let anyone make a valid token.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How many random bytes a secret has.
const SECRET_BYTES: usize = 32;

/// An execution's callback secret.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret([u8; SECRET_BYTES]);

// No derive: a secret is not printed, even by accident in a log.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A new secret from the operating system's generator.
    pub(crate) fn draw() -> Result<Secret, String> {
        let mut bytes = [0; SECRET_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| e.to_string())?;
        Ok(Secret(bytes))
    }

    /// A secret from fastrand, for tokens nothing accepts (inline runs').
    pub(crate) fn weak() -> Secret {
        let mut bytes = [0; SECRET_BYTES];
        fastrand::fill(&mut bytes);
        Secret(bytes)
    }

    /// The secret as the store keeps it: 64 lowercase hex digits.
    pub(crate) fn to_hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// A secret as the store keeps it; `None` if it is not one.
    pub(crate) fn from_hex(hex: &str) -> Option<Secret> {
        if hex.len() != 2 * SECRET_BYTES || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0; SECRET_BYTES];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Secret(bytes))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC pads a key shorter than its block with zeros (RFC 2104):
        // padded here, the key has the block's type and nothing can fail.
        let mut key = hmac::digest::Key::<Hmac<Sha256>>::default();
        key[..SECRET_BYTES].copy_from_slice(&self.0);
        <Hmac<Sha256> as KeyInit>::new(&key)
    }

    /// The token of the task whose key is `key`.
    pub(crate) fn mint(&self, key: &str) -> String {
        let mut mac = self.mac();
        mac.update(key.as_bytes());
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(key),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Whether `opened` was minted under this secret (compared in
    /// constant time).
    pub(crate) fn minted(&self, opened: &Opened) -> bool {
        let mut mac = self.mac();
        mac.update(opened.key.as_bytes());
        mac.verify_slice(&opened.tag).is_ok()
    }
}

/// A token as error messages show it: without its tag, which is what
/// answers the task, so a log of errors cannot be used to answer one.
pub(crate) fn redacted(token: &str) -> String {
    match token.split_once('.') {
        Some((key, _)) => format!("{key}.…"),
        None => token.to_owned(),
    }
}

/// A token taken apart, not checked yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opened {
    /// The task's key.
    pub(crate) key: String,
    tag: Vec<u8>,
}

impl Opened {
    /// Takes a token apart; `None` if it is not shaped like one.
    pub(crate) fn new(token: &str) -> Option<Opened> {
        let (key, tag) = token.split_once('.')?;
        let key = String::from_utf8(URL_SAFE_NO_PAD.decode(key).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        Place::of(&key)?;
        Some(Opened { key, tag })
    }

    /// Where the task is.
    pub(crate) fn place(&self) -> Place<'_> {
        // `new` checked that the key has a place.
        Place::of(&self.key).unwrap_or_default()
    }
}

/// Where a task waits, read from its key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Place<'a> {
    /// The root execution's id.
    pub(crate) execution: &'a str,
    /// The state of the root execution the task is in or under (the
    /// Parallel or Map state, for a task in a branch or a map item) and
    /// its entry: the execution's checkpoint is there while the task may
    /// wait.
    pub(crate) anchor: (&'a str, u64),
    /// The task's own state.
    pub(crate) state: &'a str,
}

impl<'a> Place<'a> {
    /// The place of a key: `<id>/<state>/<entry>`, with `/<index>/<state>/<entry>`
    /// once per level of branches or map items.
    pub(crate) fn of(key: &'a str) -> Option<Place<'a>> {
        let parts: Vec<&str> = key.split('/').collect();
        let well_formed = parts.len() >= 3
            && parts.len().is_multiple_of(3)
            && parts.iter().all(|part| !part.is_empty())
            && parts
                .iter()
                .skip(2)
                .step_by(3)
                .chain(parts.iter().skip(3).step_by(3))
                .all(|number| number.bytes().all(|b| b.is_ascii_digit()));
        if !well_formed {
            return None;
        }
        Some(Place {
            execution: parts[0],
            anchor: (parts[1], parts[2].parse().ok()?),
            state: parts[parts.len() - 2],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mac_is_hmac_sha256_of_the_key_under_the_secret() {
        // The key padded by hand gives what HMAC gives for the secret itself.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&[7; SECRET_BYTES]).unwrap();
        mac.update(b"e1/Ask/0");
        let expected = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        let token = secret(7).mint("e1/Ask/0");
        assert_eq!(token.split_once('.').unwrap().1, expected);
    }

    fn secret(byte: u8) -> Secret {
        Secret([byte; SECRET_BYTES])
    }

    #[test]
    fn a_token_is_url_safe_and_opens_to_its_key() {
        let key = "0192f1/Approve/3";
        let token = secret(1).mint(key);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
            "{token}"
        );
        let opened = Opened::new(&token).unwrap();
        assert_eq!(opened.key, key);
        assert!(secret(1).minted(&opened));
        assert!(!secret(2).minted(&opened), "another execution's secret");
    }

    #[test]
    fn a_token_with_another_key_or_tag_is_not_minted() {
        let token = secret(1).mint("e1/Approve/3");
        let (_, tag) = token.split_once('.').unwrap();
        let moved = format!("{}.{tag}", URL_SAFE_NO_PAD.encode("e1/Approve/4"));
        assert!(!secret(1).minted(&Opened::new(&moved).unwrap()));
        let mut bytes = URL_SAFE_NO_PAD.decode(tag).unwrap();
        bytes[0] ^= 1;
        let flipped = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode("e1/Approve/3"),
            URL_SAFE_NO_PAD.encode(bytes)
        );
        assert!(!secret(1).minted(&Opened::new(&flipped).unwrap()));
    }

    #[test]
    fn malformed_tokens_do_not_open() {
        for token in ["", "e1/Approve/3", "e1.Approve.3", "!!.!!", "ZTE.AA"] {
            assert_eq!(Opened::new(token), None, "{token}");
        }
    }

    #[test]
    fn places_of_root_and_branch_keys() {
        assert_eq!(
            Place::of("e1/Ask/3"),
            Some(Place {
                execution: "e1",
                anchor: ("Ask", 3),
                state: "Ask",
            })
        );
        assert_eq!(
            Place::of("e1/Fan/2/0/Ask/1"),
            Some(Place {
                execution: "e1",
                anchor: ("Fan", 2),
                state: "Ask",
            })
        );
        for bad in [
            "e1",
            "e1/Ask",
            "e1/Ask/x",
            "e1/Fan/2/0/Ask",
            "e1/Fan/2/x/Ask/1",
            "e1//3",
        ] {
            assert_eq!(Place::of(bad), None, "{bad}");
        }
    }

    #[test]
    fn secrets_round_trip_as_hex_and_differ() {
        let drawn = Secret::draw().unwrap();
        assert_eq!(Secret::from_hex(&drawn.to_hex()), Some(drawn.clone()));
        assert_ne!(Secret::draw().unwrap(), drawn);
        assert_eq!(Secret::from_hex("zz"), None);
        assert_eq!(Secret::from_hex(&"g".repeat(64)), None);
    }
}
