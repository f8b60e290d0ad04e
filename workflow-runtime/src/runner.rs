//! What an inline run is given: [`Runner`], its settings (the jitter seed,
//! the execution id, the clock, the engine's callbacks) and what a child
//! execution inherits of them. How a run goes is the driver's
//! (`driver/mod.rs`, which adds [`Runner::run`]); this module knows nothing
//! of workflows, so the step protocol can hold a runner without depending
//! on the driver.

use std::time::Duration;

use crate::callback::CallbackLink;
use crate::clock::Clock;

/// Runs executions inline, in memory, with the definition's semantics.
///
/// `W::run(&ctx, input)` is `Runner::new().run::<W>(&ctx, input)`; build a
/// runner yourself to fix the jitter seed (reproducible delays) or the
/// execution id (stable idempotency keys).
#[derive(Debug, Clone, Default)]
pub struct Runner {
    pub(crate) seed: Option<u64>,
    pub(crate) execution_id: Option<String>,
    /// How long the execution ran before this run (it is being resumed), so
    /// the workflow's timeout counts from its real start.
    pub(crate) elapsed: Duration,
    /// The clock to run on; the engine shares its own, so that every time
    /// it records is on one clock.
    pub(crate) clock: Option<Clock>,
    /// The engine's callbacks, for callback tasks.
    pub(crate) callbacks: Option<CallbackLink>,
}

impl Runner {
    /// A runner with a random seed and a random execution id.
    pub fn new() -> Self {
        Runner::default()
    }

    /// Seeds the generator that draws retry jitter.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Sets the execution's id (which idempotency keys start with).
    pub fn execution_id(mut self, id: impl Into<String>) -> Self {
        self.execution_id = Some(id.into());
        self
    }

    /// Gives tasks the engine's callbacks.
    pub(crate) fn with_callbacks(mut self, callbacks: CallbackLink) -> Self {
        self.callbacks = Some(callbacks);
        self
    }

    /// The engine's callbacks, if the run has an engine.
    pub(crate) fn callbacks(&self) -> Option<&CallbackLink> {
        self.callbacks.as_ref()
    }

    /// Runs on `clock`.
    pub(crate) fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Counts `elapsed` as already run against the workflow's timeout.
    pub(crate) fn elapsed(mut self, elapsed: Duration) -> Self {
        self.elapsed = elapsed;
        self
    }

    /// A runner for a child execution (a branch or a map item).
    pub(crate) fn child(&self, id: String) -> Runner {
        Runner {
            seed: self.seed.map(|seed| derive_seed(seed, &id)),
            execution_id: Some(id),
            elapsed: Duration::ZERO,
            clock: self.clock,
            callbacks: self.callbacks.clone(),
        }
    }
}

/// A seed for one execution or child, derived from a base seed and its id,
/// so the same seed gives the same jitter run after run.
pub(crate) fn derive_seed(seed: u64, label: &str) -> u64 {
    seed ^ crate::hash::fnv1a(label)
}
