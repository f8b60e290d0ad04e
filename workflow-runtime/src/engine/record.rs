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
    /// When it is due to go on, while it waits or backs off.
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
            wake_at: stored.checkpoint.wake_at,
            started_at: stored.started_at,
            stopped_at: stored.stopped_at,
            error: stored.checkpoint.error,
            output: stored.checkpoint.output,
        }
    }
}
