//! Graphviz DOT.

use std::fmt::Write;

use super::overlay::{NOT_VISITED, Overlay, Visit};
use super::{errors, retry_label, summary};
use crate::definition::{Definition, EdgeKind, Kind, State};

/// A DOT string literal.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Definition {
    /// The state graph as Graphviz DOT: choices as diamonds, catches
    /// dashed red, retries as dotted loops, succeed and fail states filled,
    /// ends into a terminal point.
    pub fn to_dot(&self) -> String {
        self.dot(
            |state| {
                match state.kind {
                    Kind::Choice { .. } => "shape=diamond, style=\"\"",
                    Kind::Succeed => "style=\"rounded,filled\", fillcolor=\"#d9f2d9\"",
                    Kind::Fail { .. } => {
                        "style=\"rounded,filled\", fillcolor=\"#fde0e0\", color=\"#c62828\""
                    }
                    _ => "",
                }
                .to_owned()
            },
            "",
        )
    }

    /// The same graph with one execution's path drawn over it: each state
    /// filled by how its latest visit went (succeeded, caught, failed, in
    /// progress, aborted), states never visited greyed out, and a legend.
    pub fn to_dot_overlay(&self, overlay: &Overlay) -> String {
        self.dot(|state| {
            let shape = match state.kind {
                Kind::Choice { .. } => "shape=diamond, style=filled",
                _ => "style=\"rounded,filled\"",
            };
            match overlay.get(&state.name) {
                Some(visit) => {
                    let (fill, stroke) = visit.colors();
                    format!("{shape}, fillcolor=\"{fill}\", color=\"{stroke}\", penwidth=2")
                }
                None => {
                    let (fill, stroke, text) = NOT_VISITED;
                    format!(
                        "{shape}, fillcolor=\"{fill}\", color=\"{stroke}\", fontcolor=\"{text}\""
                    )
                }
            }
        }, &legend())
    }
}

/// The overlay's legend: one cell per kind of visit, in its colours.
fn legend() -> String {
    let mut legend = String::new();
    legend
        .push_str("    legend [shape=plaintext, label=<<table border=\"0\" cellspacing=\"4\"><tr>");
    for visit in Visit::ALL {
        let (fill, stroke) = visit.colors();
        let _ = write!(
            legend,
            "<td bgcolor=\"{fill}\" color=\"{stroke}\" border=\"1\">{}</td>",
            visit.label()
        );
    }
    let (fill, stroke, text) = NOT_VISITED;
    let _ = write!(
        legend,
        "<td bgcolor=\"{fill}\" color=\"{stroke}\" border=\"1\"><font color=\"{text}\">not visited</font></td>"
    );
    legend.push_str("</tr></table>>];\n");
    legend
}

impl Definition {
    /// The graph, with each state's node attributes from `style`, and
    /// `extra` statements at its end.
    fn dot(&self, style: impl Fn(&State) -> String, extra: &str) -> String {
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
            let style = style(state);
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
        out.push_str(extra);
        out.push_str("}\n");
        out
    }
}
