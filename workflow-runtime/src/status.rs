//! Where an execution stands: the one word every store and the engine
//! agree on.

/// Where an execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// Not ended yet.
    Running,
    /// Ended with an output.
    Succeeded,
    /// Ended in a Fail state or with an error nothing caught.
    Failed,
    /// Ran past the workflow's timeout.
    TimedOut,
    /// Cancelled.
    Aborted,
}

impl Status {
    /// The status's name (`"Running"`, ...), as stores write it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Running => "Running",
            Status::Succeeded => "Succeeded",
            Status::Failed => "Failed",
            Status::TimedOut => "TimedOut",
            Status::Aborted => "Aborted",
        }
    }

    /// The status with this name.
    pub fn from_name(name: &str) -> Option<Status> {
        [
            Status::Running,
            Status::Succeeded,
            Status::Failed,
            Status::TimedOut,
            Status::Aborted,
        ]
        .into_iter()
        .find(|s| s.name() == name)
    }
}
