//! Graphviz DOT.

use std::fmt::Write;

use super::{errors, retry_label, summary};
use crate::definition::{Definition, EdgeKind, Kind};

/// A DOT string literal.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Definition {
    /// The state graph as Graphviz DOT: choices as diamonds, catches
    /// dashed red, retries as dotted loops, succeed and fail states filled,
    /// ends into a terminal point.
    pub fn to_dot(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "digraph {} {{", quoted(&self.name));
        out.push_str("    rankdir=TB;\n");
        out.push_str("    node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
        out.push_str("    edge [fontname=\"Helvetica\", fontsize=10];\n");
        out.push_str("    \"[start]\" [shape=circle, style=filled, fillcolor=black, label=\"\", width=0.2];\n");
        out.push_str("    \"[end]\" [shape=doublecircle, style=filled, fillcolor=black, label=\"\", width=0.15];\n");
        let _ = writeln!(out, "    \"[start]\" -> {};", quoted(&self.start));
        for state in self.states.iter() {
            let label = quoted(&format!("{}\n{}", state.name, summary(state)));
            let style = match state.kind {
                Kind::Choice { .. } => "shape=diamond, style=\"\"",
                Kind::Succeed => "style=\"rounded,filled\", fillcolor=\"#d9f2d9\"",
                Kind::Fail { .. } => {
                    "style=\"rounded,filled\", fillcolor=\"#fde0e0\", color=\"#c62828\""
                }
                _ => "",
            };
            let separator = if style.is_empty() { "" } else { ", " };
            let _ = writeln!(
                out,
                "    {} [label={label}{separator}{style}];",
                quoted(&state.name)
            );
        }
        for state in self.states.iter() {
            let from = quoted(&state.name);
            for edge in state.edges() {
                let to = quoted(edge.to);
                match edge.kind {
                    EdgeKind::Next | EdgeKind::Choice(_) => {
                        let _ = writeln!(out, "    {from} -> {to};");
                    }
                    EdgeKind::Catch(i) => {
                        let on = state
                            .catch
                            .get(i)
                            .map(|c| errors(&c.on))
                            .unwrap_or_default();
                        let label = quoted(&format!("catch {on}"));
                        let _ = writeln!(
                            out,
                            "    {from} -> {to} [style=dashed, color=\"#c62828\", fontcolor=\"#c62828\", label={label}];"
                        );
                    }
                }
            }
            for retrier in state.retry.iter() {
                let label = quoted(&retry_label(retrier));
                let _ = writeln!(
                    out,
                    "    {from} -> {from} [style=dotted, color=\"#1565c0\", fontcolor=\"#1565c0\", label={label}];"
                );
            }
            if state.can_end() {
                let _ = writeln!(out, "    {from} -> \"[end]\";");
            }
        }
        out.push_str("}\n");
        out
    }
}
