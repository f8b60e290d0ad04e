//! Mermaid `stateDiagram-v2`.

use std::fmt::Write;

use super::overlay::{NOT_VISITED, Overlay, Visit};
use super::{errors, retry_label, summary};
use crate::definition::{Definition, EdgeKind, Kind};

impl Definition {
    /// The state diagram as Mermaid `stateDiagram-v2`: choices as choice
    /// nodes, catches and retries as labelled edges, succeed and fail
    /// states coloured.
    pub fn to_mermaid(&self) -> String {
        let mut out = self.mermaid_graph();
        let succeeded: Vec<&str> = self
            .states
            .iter()
            .filter(|s| matches!(s.kind, Kind::Succeed))
            .map(|s| &*s.name)
            .collect();
        let failed: Vec<&str> = self
            .states
            .iter()
            .filter(|s| matches!(s.kind, Kind::Fail { .. }))
            .map(|s| &*s.name)
            .collect();
        if !succeeded.is_empty() {
            out.push_str("    classDef succeed fill:#d9f2d9,stroke:#2e7d32\n");
            let _ = writeln!(out, "    class {} succeed", succeeded.join(","));
        }
        if !failed.is_empty() {
            out.push_str("    classDef fail fill:#fde0e0,stroke:#c62828\n");
            let _ = writeln!(out, "    class {} fail", failed.join(","));
        }
        out
    }

    /// The same diagram with one execution's path drawn over it, like the
    /// console's graph view: each state coloured by how its latest visit
    /// went (succeeded, caught, failed, in progress, aborted), states never
    /// visited greyed out.
    pub fn to_mermaid_overlay(&self, overlay: &Overlay) -> String {
        let mut out = self.mermaid_graph();
        for visit in Visit::ALL {
            let states: Vec<&str> = self
                .states
                .iter()
                .filter(|s| overlay.get(&s.name) == Some(visit))
                .map(|s| &*s.name)
                .collect();
            if !states.is_empty() {
                let (fill, stroke) = visit.colors();
                let _ = writeln!(out, "    classDef {visit} fill:{fill},stroke:{stroke}");
                let _ = writeln!(out, "    class {} {visit}", states.join(","));
            }
        }
        let unvisited: Vec<&str> = self
            .states
            .iter()
            .filter(|s| overlay.get(&s.name).is_none())
            .map(|s| &*s.name)
            .collect();
        if !unvisited.is_empty() {
            let (fill, stroke, text) = NOT_VISITED;
            let _ = writeln!(
                out,
                "    classDef not_visited fill:{fill},stroke:{stroke},color:{text}"
            );
            let _ = writeln!(out, "    class {} not_visited", unvisited.join(","));
        }
        out
    }

    /// States and edges, without colours.
    fn mermaid_graph(&self) -> String {
        let mut out = String::from("stateDiagram-v2\n");
        let _ = writeln!(out, "    [*] --> {}", self.start);
        for state in self.states.iter() {
            let name = &state.name;
            if matches!(state.kind, Kind::Choice { .. }) {
                let _ = writeln!(out, "    state {name} <<choice>>");
            } else {
                let _ = writeln!(out, "    {name} : {name} — {}", summary(state));
            }
        }
        for state in self.states.iter() {
            let name = &state.name;
            for edge in state.edges() {
                match edge.kind {
                    EdgeKind::Next | EdgeKind::Choice(_) => {
                        let _ = writeln!(out, "    {name} --> {}", edge.to);
                    }
                    EdgeKind::Catch(i) => {
                        let on = state
                            .catch
                            .get(i)
                            .map(|c| errors(&c.on))
                            .unwrap_or_default();
                        let _ = writeln!(out, "    {name} --> {} : catch {on}", edge.to);
                    }
                }
            }
            for retrier in state.retry.iter() {
                let _ = writeln!(out, "    {name} --> {name} : {}", retry_label(retrier));
            }
            if state.can_end() {
                let _ = writeln!(out, "    {name} --> [*]");
            }
        }
        out
    }
}
