//! Pictures and documents of a definition: Mermaid and Graphviz diagrams,
//! and Amazon States Language.
//!
//! Edges are drawn by what they are: `next` and choice targets plainly,
//! catches dashed and labelled with what they catch, retries as loops
//! labelled with their errors and attempts, ends into a terminal node.

mod asl;
mod dot;
mod mermaid;
mod overlay;

pub use asl::{Asl, AslState};
pub use overlay::{Overlay, Visit};

use crate::definition::{ErrorMatcher, Kind, Retrier, State, WaitFor};

/// The errors a policy handles, as Step Functions names them.
fn errors(on: &[ErrorMatcher]) -> String {
    on.iter()
        .map(ErrorMatcher::asl_name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A retry loop's label: its errors and how many retries.
fn retry_label(retrier: &Retrier) -> String {
    format!("retry {} (x{})", errors(&retrier.on), retrier.max_attempts)
}

/// What a state does, in a few words, for a node's second line.
fn summary(state: &State) -> String {
    match &state.kind {
        Kind::Task { handler, .. } => format!("task {handler}"),
        Kind::Choice { handler, .. } => format!("choice {handler}"),
        Kind::Pass { handler, .. } => match handler {
            Some(handler) => format!("pass {handler}"),
            None => "pass".to_owned(),
        },
        Kind::Wait { wait, .. } => match wait {
            WaitFor::Seconds(n) => format!("wait {n}s"),
            WaitFor::Duration(d) => format!("wait {}s", d.as_secs_f64()),
            WaitFor::Until(f) => format!("wait until {f}"),
            WaitFor::Delay(f) => format!("wait for {f}"),
        },
        Kind::Parallel { branches, .. } => format!("parallel {}", branches.join(" | ")),
        Kind::Map {
            workflow,
            max_concurrency,
            ..
        } => match max_concurrency {
            0 => format!("map {workflow}"),
            n => format!("map {workflow} (max {n})"),
        },
        Kind::Succeed => "succeed".to_owned(),
        Kind::Fail { error, .. } => format!("fail {error}"),
    }
}
