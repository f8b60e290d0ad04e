//! How the engine describes an execution.

use std::time::SystemTime;

use crate::error_info::ErrorInfo;
use crate::status::Status;
use crate::store::StoredExecution;

/// An execution, as [`Engine::describe`](super::Engine::describe) reports it.
/// Its JSON (serde) has the fields below, times as RFC 3339.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Description {
    /// The execution's id.
    pub id: String,
    /// The name it was started under.
    pub name: String,
    /// Its workflow's name: the definition's, which lists and exports show
    /// (two workflows in two modules can share it).
    pub workflow: String,
    /// Its workflow's path (`module_path!()` and the enum's name, as
    /// [`Workflow::path`](crate::Workflow::path) says), which tells
    /// workflows of one name apart and by which recovery finds the
    /// workflow. `None` for an execution stored before paths were.
    pub path: Option<String>,
    /// Where it stands.
    pub status: Status,
    /// The state it is in (or ended in).
    pub state: String,
    /// When it is due to go on, while it waits or backs off, or when a
    /// deadline of the callback task it is parked on comes (none while
    /// only an answer can wake it).
    #[serde(with = "crate::serde_time::rfc3339_option")]
    pub wake_at: Option<SystemTime>,
    /// When it started.
    #[serde(with = "crate::serde_time::rfc3339")]
    pub started_at: SystemTime,
    /// When it ended.
    #[serde(with = "crate::serde_time::rfc3339_option")]
    pub stopped_at: Option<SystemTime>,
    /// Why it failed.
    pub error: Option<ErrorInfo>,
    /// Its output as JSON text, once it succeeded (in the description's
    /// own JSON, the output itself).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::serde_time::json_text"
    )]
    pub output: Option<String>,
}

impl From<StoredExecution> for Description {
    fn from(stored: StoredExecution) -> Self {
        Description {
            id: stored.id,
            name: stored.name,
            workflow: stored.workflow,
            path: stored.path,
            status: stored.checkpoint.status,
            state: stored.checkpoint.state_name,
            wake_at: stored
                .checkpoint
                .wake_at
                .filter(|&at| at != crate::store::unanswered()),
            started_at: stored.started_at,
            stopped_at: stored.stopped_at,
            error: stored.checkpoint.error,
            output: stored.checkpoint.output,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::Description;
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
