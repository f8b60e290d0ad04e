//! An error as Step Functions records it: a name and a cause.

use std::fmt;

/// An error's name and cause, in the form Step Functions records them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorInfo {
    /// `Type.Variant` for a handler's error, `States.*` for built-in ones.
    pub name: String,
    /// A human-readable description.
    pub cause: String,
}

impl ErrorInfo {
    /// An error with this name and cause.
    pub fn new(name: impl Into<String>, cause: impl Into<String>) -> Self {
        ErrorInfo {
            name: name.into(),
            cause: cause.into(),
        }
    }
}

impl fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.cause)
    }
}
