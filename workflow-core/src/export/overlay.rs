//! An execution's path over its definition, for drawing: which states it
//! visited and how each visit ended.

use std::fmt;

/// How an execution's last visit to a state went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visit {
    /// The state finished and the execution moved on.
    Succeeded,
    /// The state failed and nothing caught it; the execution failed here.
    Failed,
    /// The state failed and a catcher sent the execution on.
    Caught,
    /// The execution is in this state now (running, waiting or backing off).
    InProgress,
    /// The execution was cancelled or timed out while in this state.
    Aborted,
}

impl Visit {
    /// Every kind of visit, in legend order.
    pub const ALL: [Visit; 5] = [
        Visit::Succeeded,
        Visit::Caught,
        Visit::Failed,
        Visit::InProgress,
        Visit::Aborted,
    ];

    /// Its name in words, as a legend shows it.
    pub fn label(self) -> &'static str {
        match self {
            Visit::InProgress => "in progress",
            other => other.name(),
        }
    }

    /// Its name as an identifier: the diagrams' class name for it.
    pub fn name(self) -> &'static str {
        match self {
            Visit::Succeeded => "succeeded",
            Visit::Failed => "failed",
            Visit::Caught => "caught",
            Visit::InProgress => "in_progress",
            Visit::Aborted => "aborted",
        }
    }

    /// Fill and border colours, as the diagrams draw it.
    pub(super) fn colors(self) -> (&'static str, &'static str) {
        match self {
            Visit::Succeeded => ("#d9f2d9", "#2e7d32"),
            Visit::Failed => ("#fde0e0", "#c62828"),
            Visit::Caught => ("#ffe9c7", "#ef6c00"),
            Visit::InProgress => ("#dbe9fb", "#1565c0"),
            Visit::Aborted => ("#e0e0e0", "#424242"),
        }
    }
}

impl fmt::Display for Visit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The colours of a state the execution never reached.
pub(super) const NOT_VISITED: (&str, &str, &str) = ("#ffffff", "#bdbdbd", "#9e9e9e");

/// One execution's visits, by state name; a state it never reached has none.
///
/// Pass it to [`Definition::to_mermaid_overlay`](crate::Definition::to_mermaid_overlay)
/// or [`Definition::to_dot_overlay`](crate::Definition::to_dot_overlay). The
/// runtime builds one from an execution's history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overlay {
    visits: Vec<(String, Visit)>,
}

impl Overlay {
    /// An overlay with no visits: every state drawn as not visited.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records how the latest visit to `state` went, replacing an earlier one.
    pub fn visit(&mut self, state: &str, visit: Visit) {
        match self.visits.iter_mut().find(|(name, _)| name == state) {
            Some((_, last)) => *last = visit,
            None => self.visits.push((state.to_owned(), visit)),
        }
    }

    /// How the latest visit to `state` went, or `None` if it was never visited.
    pub fn get(&self, state: &str) -> Option<Visit> {
        self.visits
            .iter()
            .find(|(name, _)| name == state)
            .map(|(_, visit)| *visit)
    }

    /// Each visited state and how it went, in order of first visit.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Visit)> {
        self.visits
            .iter()
            .map(|(name, visit)| (name.as_str(), *visit))
    }
}
