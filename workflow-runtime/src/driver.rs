//! The inline driver: one loop that runs an execution from start to end.

use crate::clock::Clock;
use crate::context::Heartbeat;
use crate::error::ExecutionError;
use crate::step::{Step, StepCx, WaitUntil};
use crate::workflow::Workflow;

/// Runs executions inline, in memory, with the definition's semantics.
///
/// `W::run(&ctx, input)` is `Runner::new().run::<W>(&ctx, input)`; build a
/// runner yourself to fix the jitter seed (reproducible delays) or the
/// execution id (stable idempotency keys).
#[derive(Debug, Clone, Default)]
pub struct Runner {
    seed: Option<u64>,
    execution_id: Option<String>,
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

    /// A runner for a child execution (a branch or a map item).
    pub(crate) fn child(&self, id: String) -> Runner {
        Runner {
            seed: self.seed.map(|seed| seed.wrapping_add(fastrand::u64(..))),
            execution_id: Some(id),
        }
    }

    /// Runs one execution of `W` to its end.
    pub async fn run<W: Workflow>(
        self,
        context: &W::Context,
        input: W::Input,
    ) -> Result<W::Output, ExecutionError> {
        let def = W::definition();
        match def.timeout {
            None => self.drive::<W>(context, input).await,
            Some(after) => tokio::time::timeout(after, self.drive::<W>(context, input))
                .await
                .unwrap_or(Err(ExecutionError::TimedOut { after })),
        }
    }

    async fn drive<W: Workflow>(
        &self,
        context: &W::Context,
        input: W::Input,
    ) -> Result<W::Output, ExecutionError> {
        let def = W::definition();
        let execution_id = match &self.execution_id {
            Some(id) => id.clone(),
            None => format!("{:032x}", fastrand::u128(..)),
        };
        let mut rng = match self.seed {
            Some(seed) => fastrand::Rng::with_seed(seed),
            None => fastrand::Rng::new(),
        };
        let clock = Clock::new();
        let heartbeat = Heartbeat::new();
        let mut checkpoint = W::start(input);
        // Counters of one entry of a state: reset whenever a state is entered.
        let mut entry: u64 = 0;
        let mut attempt: u32 = 1;
        let mut retries_used: Vec<u32> = Vec::new();
        let mut entered = true;
        loop {
            let index = checkpoint.state_index();
            let Some(state) = def.states.get(index) else {
                return Err(ExecutionError::InvalidWorkflow {
                    workflow: def.name.to_string(),
                    reason: format!("state index {index} is not in the definition"),
                });
            };
            if entered {
                retries_used.clear();
                retries_used.resize(state.retry.len(), 0);
                tracing::trace!(execution = %execution_id, state = %state.name, "state entered");
            }
            let cx = StepCx {
                context,
                execution_id: &execution_id,
                state,
                entry,
                attempt,
                retries_used: &retries_used,
                heartbeat: &heartbeat,
                clock: &clock,
                runner: self,
            };
            match checkpoint.step(cx).await {
                Step::Next(next) => {
                    checkpoint = next;
                    entered = true;
                }
                Step::Retry {
                    state: same,
                    retrier,
                    error,
                } => {
                    let (Some(used), Some(policy)) =
                        (retries_used.get_mut(retrier), state.retry.get(retrier))
                    else {
                        return Err(ExecutionError::InvalidWorkflow {
                            workflow: def.name.to_string(),
                            reason: format!("state `{}` has no retrier {retrier}", state.name),
                        });
                    };
                    *used += 1;
                    let delay = policy.jittered_delay_before(*used, rng.f64());
                    tracing::debug!(
                        execution = %execution_id, state = %state.name, retrier,
                        retry = *used, ?delay, error = %error, "retrying"
                    );
                    clock.sleep(delay).await;
                    checkpoint = same;
                    attempt += 1;
                    entered = false;
                    continue;
                }
                Step::Caught {
                    next,
                    catcher,
                    error,
                } => {
                    tracing::debug!(
                        execution = %execution_id, state = %state.name, catcher,
                        error = %error, "caught"
                    );
                    checkpoint = next;
                    entered = true;
                }
                Step::Wait { next, until } => {
                    match until {
                        WaitUntil::Elapsed(duration) => clock.sleep(duration).await,
                        WaitUntil::Time(time) => clock.sleep_until(time).await,
                    }
                    checkpoint = next;
                    entered = true;
                }
                Step::Succeeded(output) => {
                    tracing::trace!(execution = %execution_id, "execution succeeded");
                    return Ok(output);
                }
                Step::Failed(failure) => {
                    tracing::debug!(execution = %execution_id, %failure, "execution failed");
                    return Err(ExecutionError::Failed(failure));
                }
            }
            entry += 1;
            attempt = 1;
        }
    }
}
