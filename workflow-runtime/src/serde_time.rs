//! How the types a service sends serialize their times and JSON data:
//! timestamps as RFC 3339 strings, and data that is JSON text as the JSON
//! itself (not a string holding it).

use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A time as RFC 3339 (`2026-12-01T05:00:00.123456789Z`).
pub(crate) mod rfc3339 {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(time: &SystemTime, to: S) -> Result<S::Ok, S::Error> {
        humantime::format_rfc3339_nanos(*time)
            .to_string()
            .serialize(to)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(from: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(from)?;
        humantime::parse_rfc3339_weak(&text).map_err(serde::de::Error::custom)
    }
}

/// [`rfc3339`] for an optional time.
pub(crate) mod rfc3339_option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        time: &Option<SystemTime>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        time.map(|time| humantime::format_rfc3339_nanos(time).to_string())
            .serialize(to)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        from: D,
    ) -> Result<Option<SystemTime>, D::Error> {
        Option::<String>::deserialize(from)?
            .map(|text| humantime::parse_rfc3339_weak(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// JSON text kept as a string, serialized as the JSON it holds. Text that
/// is not JSON (only a hand-made value could be) is serialized as a string.
pub(crate) mod json_text {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        text: &Option<String>,
        to: S,
    ) -> Result<S::Ok, S::Error> {
        match text
            .as_deref()
            .map(serde_json::from_str::<serde_json::Value>)
        {
            Some(Ok(value)) => Some(value).serialize(to),
            Some(Err(_)) => text.serialize(to),
            None => to.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        from: D,
    ) -> Result<Option<String>, D::Error> {
        Ok(Option::<serde_json::Value>::deserialize(from)?.map(|value| value.to_string()))
    }
}
