//! Unit tests of `workflow_core::check` on hand-built definitions.
//!
//! Every case asserts the exact problems (state, locus and kind), in the order
//! `check` reports them: name problems, then per-state problems in declaration
//! order, then graph problems.

use std::borrow::Cow;
use std::time::Duration;

use workflow_core::{
    Catcher, Definition, ErrorMatcher, Jitter, Kind, Locus, Problem, ProblemKind, Retrier, State,
    Tolerance, Transition, WaitFor, check,
};

mod builders;
mod display;
mod graph;
mod kinds;
mod names;
mod retry_catch;
mod sound;
mod timeouts;

use builders::*;
