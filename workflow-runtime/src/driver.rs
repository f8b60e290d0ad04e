//! The inline driver: one loop that runs an execution from start to end.

use std::sync::Arc;

use tracing::Instrument;
use workflow_core::Kind;

use crate::clock::Clock;
use crate::context::Heartbeat;
use crate::error::{ErrorInfo, ExecutionError};
use crate::history::{EventKind, Journal};
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
        self.run_recorded::<W, _>(context, input, &mut Silent).await
    }

    /// Runs one execution, telling `recorder` what happens: the one driver
    /// loop behind both inline runs and the engine.
    pub(crate) async fn run_recorded<W: Workflow, R: Recorder<W>>(
        &self,
        context: &W::Context,
        input: W::Input,
        recorder: &mut R,
    ) -> Result<W::Output, ExecutionError> {
        let def = W::definition();
        let result = match def.timeout {
            None => self.drive::<W, R>(context, input, recorder).await,
            Some(after) => {
                match tokio::time::timeout(after, self.drive::<W, R>(context, input, recorder))
                    .await
                {
                    Ok(result) => result,
                    Err(_) => Err(ExecutionError::TimedOut { after }),
                }
            }
        };
        finish(recorder, result)
    }

    async fn drive<W: Workflow, R: Recorder<W>>(
        &self,
        context: &W::Context,
        input: W::Input,
        recorder: &mut R,
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
        let journal = recorder.journal();
        let mut checkpoint = W::start(input);
        recorder.record(
            EventKind::ExecutionStarted,
            None,
            Data::Checkpoint(&checkpoint),
        )?;
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
            let name: &'static str = &state.name;
            let events = Events::of(&state.kind);
            if entered {
                retries_used.clear();
                retries_used.resize(state.retry.len(), 0);
                tracing::trace!(execution = %execution_id, state = name, "state entered");
                recorder.record(events.entered, Some(name), Data::Checkpoint(&checkpoint))?;
                if let Some(started) = events.started {
                    recorder.record(started, Some(name), Data::None)?;
                }
            }
            if matches!(state.kind, Kind::Task { .. }) {
                recorder.record(EventKind::TaskScheduled, Some(name), Data::None)?;
                recorder.record(EventKind::TaskStarted, Some(name), Data::None)?;
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
                journal: journal.as_deref(),
            };
            let step = checkpoint
                .step(cx)
                .instrument(tracing::debug_span!("state", name))
                .await;
            match step {
                Step::Next(next) => {
                    if let Some(succeeded) = events.succeeded {
                        recorder.record(succeeded, Some(name), Data::None)?;
                    }
                    if let Some(exited) = events.exited {
                        recorder.record(exited, Some(name), Data::Checkpoint(&next))?;
                    }
                    checkpoint = next;
                    entered = true;
                }
                Step::Retry {
                    state: same,
                    retrier,
                    error,
                } => {
                    recorder.record(events.failed(&error), Some(name), Data::Error(&error))?;
                    let (Some(used), Some(policy)) =
                        (retries_used.get_mut(retrier), state.retry.get(retrier))
                    else {
                        return Err(ExecutionError::InvalidWorkflow {
                            workflow: def.name.to_string(),
                            reason: format!("state `{name}` has no retrier {retrier}"),
                        });
                    };
                    *used += 1;
                    let delay = policy.jittered_delay_before(*used, rng.f64());
                    tracing::debug!(
                        execution = %execution_id, state = name, retrier,
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
                        execution = %execution_id, state = name, catcher,
                        error = %error, "caught"
                    );
                    recorder.record(events.failed(&error), Some(name), Data::Error(&error))?;
                    if let Some(exited) = events.exited {
                        recorder.record(exited, Some(name), Data::Checkpoint(&next))?;
                    }
                    checkpoint = next;
                    entered = true;
                }
                Step::Wait { next, until } => {
                    match until {
                        WaitUntil::Elapsed(duration) => clock.sleep(duration).await,
                        WaitUntil::Time(time) => clock.sleep_until(time).await,
                    }
                    if let Some(exited) = events.exited {
                        recorder.record(exited, Some(name), Data::Checkpoint(&next))?;
                    }
                    checkpoint = next;
                    entered = true;
                }
                Step::Succeeded(output) => {
                    if let Some(succeeded) = events.succeeded {
                        recorder.record(succeeded, Some(name), Data::None)?;
                    }
                    if let Some(exited) = events.exited {
                        recorder.record(exited, Some(name), Data::Output(&output))?;
                    }
                    tracing::trace!(execution = %execution_id, "execution succeeded");
                    return Ok(output);
                }
                Step::Failed(failure) => {
                    if !matches!(state.kind, Kind::Fail { .. }) {
                        let error = ErrorInfo::new(failure.error.clone(), failure.cause.clone());
                        recorder.record(events.failed(&error), Some(name), Data::Error(&error))?;
                    }
                    tracing::debug!(execution = %execution_id, %failure, "execution failed");
                    return Err(ExecutionError::Failed(failure));
                }
            }
            entry += 1;
            attempt = 1;
        }
    }
}

/// Records how the execution ended; a failure to record the output (it is
/// too large) fails the execution instead.
fn finish<W: Workflow, R: Recorder<W>>(
    recorder: &mut R,
    result: Result<W::Output, ExecutionError>,
) -> Result<W::Output, ExecutionError> {
    let result = match result {
        Ok(output) => {
            match recorder.record(EventKind::ExecutionSucceeded, None, Data::Output(&output)) {
                Ok(()) => return Ok(output),
                Err(error) => Err(error),
            }
        }
        Err(error) => Err(error),
    };
    if let Err(error) = &result {
        let kind = match error {
            ExecutionError::TimedOut { .. } => EventKind::ExecutionTimedOut,
            _ => EventKind::ExecutionFailed,
        };
        // The execution has ended either way; a refused terminal event
        // (the history is full) changes nothing about the outcome.
        let _ = recorder.record(kind, None, Data::Error(&error.info()));
    }
    result
}

/// Hears what the driver does. Inline runs use [`Silent`]; the engine
/// records a history.
pub(crate) trait Recorder<W: Workflow>: Send {
    /// Records one event. An error (a payload over the size limit, a full
    /// history) ends the execution with that error.
    fn record(
        &mut self,
        kind: EventKind,
        state: Option<&'static str>,
        data: Data<'_, W>,
    ) -> Result<(), ExecutionError>;

    /// Where branches and map items report their start and end.
    fn journal(&self) -> Option<Arc<dyn Journal>> {
        None
    }
}

/// An event's data, serialized only by a recorder that wants it.
pub(crate) enum Data<'a, W: Workflow> {
    None,
    Checkpoint(&'a W),
    Output(&'a W::Output),
    Error(&'a ErrorInfo),
}

/// The recorder of inline runs: hears nothing.
pub(crate) struct Silent;

impl<W: Workflow> Recorder<W> for Silent {
    #[inline]
    fn record(
        &mut self,
        _: EventKind,
        _: Option<&'static str>,
        _: Data<'_, W>,
    ) -> Result<(), ExecutionError> {
        Ok(())
    }
}

/// The history events of one kind of state.
struct Events {
    entered: EventKind,
    started: Option<EventKind>,
    succeeded: Option<EventKind>,
    failed: Option<EventKind>,
    exited: Option<EventKind>,
}

impl Events {
    fn of(kind: &Kind) -> Events {
        use EventKind::*;
        let plain = |entered, exited| Events {
            entered,
            started: None,
            succeeded: None,
            failed: None,
            exited,
        };
        match kind {
            Kind::Task { .. } => Events {
                entered: TaskStateEntered,
                started: None,
                succeeded: Some(TaskSucceeded),
                failed: Some(TaskFailed),
                exited: Some(TaskStateExited),
            },
            Kind::Parallel { .. } => Events {
                entered: ParallelStateEntered,
                started: Some(ParallelStateStarted),
                succeeded: Some(ParallelStateSucceeded),
                failed: Some(ParallelStateFailed),
                exited: Some(ParallelStateExited),
            },
            Kind::Map { .. } => Events {
                entered: MapStateEntered,
                started: Some(MapStateStarted),
                succeeded: Some(MapStateSucceeded),
                failed: Some(MapStateFailed),
                exited: Some(MapStateExited),
            },
            Kind::Choice { .. } => plain(ChoiceStateEntered, Some(ChoiceStateExited)),
            Kind::Pass { .. } => plain(PassStateEntered, Some(PassStateExited)),
            Kind::Wait { .. } => plain(WaitStateEntered, Some(WaitStateExited)),
            Kind::Succeed => plain(SucceedStateEntered, Some(SucceedStateExited)),
            Kind::Fail { .. } => plain(FailStateEntered, None),
        }
    }

    /// A failed attempt: `TaskTimedOut` for a task's timeout, else the kind's
    /// failure event.
    fn failed(&self, error: &ErrorInfo) -> EventKind {
        let timed_out = error.name == "States.Timeout" || error.name == "States.HeartbeatTimeout";
        match self.failed {
            Some(EventKind::TaskFailed) if timed_out => EventKind::TaskTimedOut,
            Some(kind) => kind,
            None => EventKind::ExecutionFailed,
        }
    }
}
