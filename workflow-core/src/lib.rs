//! The definition model of a `workflow` state machine, independent of how it
//! was written.
//!
//! A [`Definition`] is the transition table of one workflow: its states, what
//! kind each one is, where each one goes, and the retry and catch policies of
//! the states that do work. The `#[workflow]` macro builds one at compile time
//! from an annotated enum and embeds it as static data; a definition can also be
//! deserialized at run time. Either way [`check`] judges it with the same rules,
//! so a Rust definition and a JSON one are held to one standard.
//!
//! The same definition exports as a diagram ([`Definition::to_mermaid`],
//! [`Definition::to_dot`]) and as Amazon States Language
//! ([`Definition::to_asl`]).
//!
//! This crate depends on `serde` only: it knows nothing of `syn` or of the
//! runtime.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

mod check;
mod definition;
pub mod export;
mod suggest;

pub use check::{Locus, Problem, ProblemKind, check};
pub use definition::{
    Catcher, Definition, Edge, EdgeKind, ErrorMatcher, Jitter, Kind, Retrier, State, Tolerance,
    Transition, WaitFor,
};
pub use suggest::closest;
