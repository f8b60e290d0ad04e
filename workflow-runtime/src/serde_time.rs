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

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use crate::engine::Description;
    use crate::{ErrorInfo, Event, EventKind, Status};

    #[test]
    fn events_and_descriptions_serialize_as_a_service_sends_them() {
        let at = UNIX_EPOCH + Duration::from_nanos(1_764_565_200_123_456_789);
        let event = Event {
            id: 2,
            previous_event_id: 1,
            timestamp: at,
            kind: EventKind::TaskStateEntered,
            state: Some("Reserve".into()),
            data: Some(r#"{"id":7,"paid":true}"#.to_owned()),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": 2,
                "previous_event_id": 1,
                "timestamp": "2025-12-01T05:00:00.123456789Z",
                "kind": "TaskStateEntered",
                "state": "Reserve",
                "data": {"id": 7, "paid": true},
            })
        );
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
        assert_eq!(event.data_value().unwrap().unwrap()["paid"], true);

        let description = Description {
            id: "e1".into(),
            name: "order-7".into(),
            workflow: "Checkout".into(),
            path: Some("shop::Checkout".into()),
            status: Status::Failed,
            state: "Reserve".into(),
            wake_at: None,
            started_at: at,
            stopped_at: Some(at + Duration::from_secs(1)),
            error: Some(ErrorInfo::new("ShopError.OutOfStock", "out of stock")),
            output: None,
        };
        let json = serde_json::to_value(&description).unwrap();
        assert_eq!(json["status"], "Failed");
        assert_eq!(json["path"], "shop::Checkout");
        assert_eq!(json["stopped_at"], "2025-12-01T05:00:01.123456789Z");
        assert_eq!(json["wake_at"], serde_json::Value::Null);
        assert_eq!(
            json["error"],
            serde_json::json!({"name": "ShopError.OutOfStock", "cause": "out of stock"})
        );
        let back: Description = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back, description);
        // A description written before paths were reads back without one.
        let mut before_paths = json;
        before_paths.as_object_mut().unwrap().remove("path");
        let back: Description = serde_json::from_value(before_paths).unwrap();
        assert_eq!(back.path, None);

        let succeeded = Description {
            status: Status::Succeeded,
            error: None,
            output: Some(r#"{"parcels":2}"#.into()),
            ..description
        };
        let json = serde_json::to_value(&succeeded).unwrap();
        assert_eq!(json["output"], serde_json::json!({"parcels": 2}));
        let back: Description = serde_json::from_value(json).unwrap();
        assert_eq!(back, succeeded);
    }
}
