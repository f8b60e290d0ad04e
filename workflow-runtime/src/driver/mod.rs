//! The driver: one loop that runs an execution from a checkpoint to its end,
//! for inline runs and for the engine alike.

use std::future::Future;
use std::time::SystemTime;

use tracing::Instrument;
use workflow_core::Kind;

use crate::callback::Parking;
use crate::clock::{Clock, LazyClock};
use crate::context::{ExecutionId, Heartbeat};
use crate::error::{ErrorInfo, ExecutionError};
use crate::history::EventKind;
use crate::runner::Runner;
use crate::store::{ParkedCallback, unanswered};
use crate::workflow::{Drive, Step, StepCx, WaitUntil, Workflow};

mod events;
mod parked;
mod recorder;

use self::events::Events;
pub(crate) use self::recorder::{Data, Recorder, Silent};

/// Every workflow runs on the driver's loop: what [`Workflow::run`] and a
/// state's children call.
impl<W: Workflow> Drive for W {
    fn drive(
        runner: Runner,
        context: &W::Context,
        input: W::Input,
    ) -> impl Future<Output = Result<W::Output, ExecutionError>> + Send + '_ {
        runner.run::<W>(context, input)
    }
}

/// Where an execution stands between steps: everything the driver needs,
/// besides the checkpoint itself, to go on after a restart.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Progress {
    /// States entered before the current one; part of the idempotency key.
    pub(crate) entry: u64,
    /// The attempt about to run.
    pub(crate) attempt: u32,
    /// Retries used per retrier of the current state.
    pub(crate) retries: Vec<u32>,
    /// The Wait state being waited in; its exit is recorded on waking.
    pub(crate) waiting: Option<&'static str>,
    /// When to go on (a wait, a retry's backoff, or a deadline of the
    /// callback the task is parked on).
    pub(crate) wake_at: Option<SystemTime>,
    /// The callback the current attempt is parked on, if it left memory
    /// to wait for one.
    pub(crate) callback: Option<ParkedCallback>,
    /// Whether the current state's entry is already recorded.
    pub(crate) entered: bool,
    /// Whether the execution has recorded anything yet.
    pub(crate) started: bool,
}

impl Progress {
    fn fresh() -> Self {
        Progress {
            attempt: 1,
            ..Progress::default()
        }
    }
}

// The runner's settings are `runner.rs`'s; how a run goes is here.
impl Runner {
    /// Runs one execution of `W` to its end.
    ///
    /// # Errors
    ///
    /// How the execution ended if it did not succeed: a failure no catcher
    /// took ([`ExecutionError::Failed`]), a timeout of the whole execution,
    /// or a limit of the runner exceeded.
    // An async block, not `async fn`: the arguments are then held once.
    #[allow(clippy::manual_async_fn)]
    pub fn run<W: Workflow>(
        self,
        context: &W::Context,
        input: W::Input,
    ) -> impl Future<Output = Result<W::Output, ExecutionError>> {
        async move {
            let ran = self
                .run_from::<W, _>(context, W::start(input), Progress::fresh(), &mut Silent)
                .await;
            match ran {
                Ran::Ended(outcome) => outcome,
                // Only a recorder with a store parks, and Silent has none.
                Ran::Parked => Err(ExecutionError::InvalidWorkflow {
                    workflow: W::definition().name.to_string(),
                    reason: "an inline run was parked, which needs a store".to_owned(),
                }),
            }
        }
    }

    /// Runs an execution from `checkpoint` on, telling `recorder` what
    /// happens: the one driver loop behind inline runs and the engine.
    // An async block, not `async fn`: the arguments are then held once.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn run_from<W: Workflow, R: Recorder<W>>(
        &self,
        context: &W::Context,
        checkpoint: W,
        progress: Progress,
        recorder: &mut R,
    ) -> impl Future<Output = Ran<W::Output>> {
        async move {
            let def = W::definition();
            let span = tracing::debug_span!(
                "execution",
                workflow = &*def.name,
                id = self.execution_id.as_deref()
            );
            // The clock is read here only for a deadline; without one, when
            // the run first needs the time.
            let mut clock = self.clock;
            let left = def.timeout.map(|after| after.saturating_sub(self.elapsed));
            let deadline = left.map(|left| clock.get_or_insert_with(Clock::new).now() + left);
            let result = match (def.timeout, left) {
                (Some(after), Some(left)) if left.is_zero() => {
                    // Resumed after its deadline (the process was down past it):
                    // it timed out; nothing more runs.
                    Err(Halt::Failed(ExecutionError::TimedOut { after }))
                }
                (Some(after), Some(left)) => {
                    let drive = self
                        .drive::<W, R>(context, checkpoint, progress, recorder, clock, deadline)
                        .instrument(span);
                    match tokio::time::timeout(left, drive).await {
                        Ok(result) => result,
                        Err(_) => Err(Halt::Failed(ExecutionError::TimedOut { after })),
                    }
                }
                _ => {
                    self.drive::<W, R>(context, checkpoint, progress, recorder, clock, deadline)
                        .instrument(span)
                        .await
                }
            };
            // One call of `finish`, so the future holds one of its futures.
            let outcome = match result {
                Ok(output) => Ok(output),
                Err(Halt::Failed(error)) => Err(error),
                Err(Halt::Parked) => return Ran::Parked,
            };
            Ran::Ended(finish(recorder, outcome).await)
        }
    }

    // An async block, not `async fn`: the arguments are then held once.
    #[allow(clippy::manual_async_fn)]
    fn drive<W: Workflow, R: Recorder<W>>(
        &self,
        context: &W::Context,
        mut checkpoint: W,
        mut progress: Progress,
        recorder: &mut R,
        clock: Option<Clock>,
        deadline: Option<SystemTime>,
    ) -> impl Future<Output = Result<W::Output, Halt>> {
        async move {
            let def = W::definition();
            let clock = LazyClock::new(clock);
            let execution_id = ExecutionId::new(self.execution_id.as_deref());
            // Drawn at the first retry: most runs never need it.
            let mut rng = None;
            let mut heartbeat = Heartbeat::default();
            // A run that resumes in the middle of a state may find some of
            // its children finished already.
            let journal = recorder.journal(
                progress
                    .entered
                    .then_some((progress.entry, progress.attempt)),
            );
            // Whether the recorder has seen `checkpoint`'s current value, so it
            // need not serialize it again (each state's data is an event's data
            // twice, on exit and entry, and the transition's checkpoint).
            let mut seen = false;
            // States run since the last unit of tokio's budget was consumed.
            let mut unbudgeted = 0;
            // Offered where a park is committed, and where no deadline of
            // the whole execution is kept in memory (as for a long wait).
            heartbeat.parking = (R::RECORDS && deadline.is_none() && recorder.parks(unanswered()))
                .then(Box::<Parking>::default);
            if !progress.started {
                if R::RECORDS {
                    recorder.record(
                        EventKind::ExecutionStarted,
                        None,
                        Data::Checkpoint(&checkpoint),
                    )?;
                }
                progress.started = true;
                seen = true;
            } else if progress.wake_at.is_none() && R::RECORDS {
                // Not a timer coming due: the run before this one stopped
                // in the middle of the state.
                recorder.record(EventKind::ExecutionResumed, None, Data::None)?;
            }
            loop {
                // States that finish without waiting (choices, passes, handlers
                // that never await) must still let a timeout or a cancellation
                // in, and other tasks run: every few states consume a unit of
                // the task's budget, and once it is spent the task yields.
                unbudgeted += 1;
                if unbudgeted >= R::STATES_PER_BUDGET_UNIT {
                    unbudgeted = 0;
                    tokio::task::consume_budget().await;
                }
                let index = checkpoint.state_index();
                let Some(state) = def.states.get(index) else {
                    return Err(Halt::Failed(ExecutionError::InvalidWorkflow {
                        workflow: def.name.to_string(),
                        reason: format!("state index {index} is not in the definition"),
                    }));
                };
                let name: &'static str = &state.name;
                let events = Events::of(&state.kind);
                // A timer that was pending when the execution was last committed
                // (a wait, or a retry's backoff): sleep out what is left of it.
                let woke_at = progress.wake_at.take();
                if let Some(wake_at) = woke_at {
                    // A long wait leaves memory: the deadline is committed, and
                    // the engine's timer resumes the execution when it is due.
                    // Not past the execution's own deadline, though: the timeout
                    // must fire on time, and it is kept in memory.
                    if (recorder.parks(wake_at) || recorder.stops())
                        && deadline.is_none_or(|d| d >= wake_at)
                    {
                        return Err(Halt::Parked);
                    }
                    // A parked callback's deadline is not slept out: an
                    // engine that does not park runs the task again, to
                    // wait in memory.
                    if progress.callback.is_none() {
                        clock.get().sleep_until(wake_at).await;
                    }
                }
                // A task parked on its callback is back: its answer came, a
                // deadline passed, or it was let go before either.
                let parked = progress.callback.take();
                let resumed_callback = parked.is_some();
                if resumed_callback {
                    parked::back(self, execution_id.get(), name, progress.entry);
                }
                if let Some(parking) = &mut heartbeat.parking {
                    parking.expired = match parked {
                        Some(parked)
                            if !parked::answered(
                                self,
                                execution_id.get(),
                                name,
                                progress.entry,
                            )
                            .await? =>
                        {
                            parked::expired(parked, woke_at, clock.get().now())
                        }
                        _ => None,
                    };
                }
                recorder.resumed();
                if let Some(waited_in) = progress.waiting.take()
                    && R::RECORDS
                {
                    recorder.record(
                        EventKind::WaitStateExited,
                        Some(waited_in),
                        Data::of(&checkpoint, seen),
                    )?;
                    seen = true;
                }
                if !progress.entered {
                    progress.retries.clear();
                    progress.retries.resize(state.retry.len(), 0);
                    progress.attempt = 1;
                    tracing::trace!(execution = %execution_id, state = name, "state entered");
                    if R::RECORDS {
                        recorder.record(events.entered, Some(name), Data::of(&checkpoint, seen))?;
                        seen = true;
                        if let Some(started) = events.started {
                            recorder.record(started, Some(name), Data::None)?;
                        }
                    }
                    progress.entered = true;
                }
                if R::RECORDS {
                    // A task back from its callback goes on with the attempt
                    // it parked in.
                    if matches!(state.kind, Kind::Task { .. }) && !resumed_callback {
                        recorder.record(EventKind::TaskScheduled, Some(name), Data::None)?;
                        recorder.record(EventKind::TaskStarted, Some(name), Data::None)?;
                    }
                    // The one write per transition: from here on a restart
                    // resumes this state, with this entry and attempt.
                    recorder.commit(&checkpoint, &progress, seen).await?;
                    // A checkpoint is where an engine that shuts down lets
                    // its executions go.
                    if recorder.stops() {
                        return Err(Halt::Parked);
                    }
                }
                let cx = StepCx {
                    context,
                    execution_id: &execution_id,
                    state,
                    entry: progress.entry,
                    attempt: progress.attempt,
                    retries_used: &progress.retries,
                    heartbeat: &heartbeat,
                    clock: &clock,
                    runner: self,
                    journal: journal.as_deref(),
                };
                // A span per state only when someone listens: wrapping every
                // step's future costs a move of it, on the hottest path.
                let step = match heartbeat.parking() {
                    Some(parking) => {
                        let step = if tracing::enabled!(tracing::Level::DEBUG) {
                            let span = tracing::debug_span!("state", name);
                            parked::until_parked(checkpoint.step(cx).instrument(span), parking)
                                .await
                        } else {
                            parked::until_parked(checkpoint.step(cx), parking).await
                        };
                        let Some(step) = step else {
                            // A task waits for its callback: the step's
                            // future is gone, and the execution leaves memory.
                            recorder.resumed();
                            let now = clock.get().now();
                            let (parked, wake_at) = parked::park(state, &heartbeat, now);
                            progress.callback = Some(parked);
                            progress.wake_at = Some(wake_at);
                            recorder.commit_again(&progress).await?;
                            // An answer stored before the commit found the
                            // task not parked yet, and its wake-up changed
                            // nothing.
                            if parked::answered(self, execution_id.get(), name, progress.entry)
                                .await?
                            {
                                progress.wake_at = Some(clock.get().now());
                                recorder.commit_again(&progress).await?;
                            }
                            return Err(Halt::Parked);
                        };
                        step
                    }
                    // Not wrapped: a wrapper costs a move of the step's
                    // future, on the hottest path.
                    None if tracing::enabled!(tracing::Level::DEBUG) => {
                        checkpoint
                            .step(cx)
                            .instrument(tracing::debug_span!("state", name))
                            .await
                    }
                    None => checkpoint.step(cx).await,
                };
                recorder.resumed();
                match step {
                    Step::Next(next) => {
                        if R::RECORDS {
                            record_success(recorder, events, name, Data::Checkpoint(&next))?;
                            seen = events.exited.is_some();
                        }
                        checkpoint = next;
                    }
                    Step::Retry {
                        state: same,
                        retrier,
                        error,
                    } => {
                        if R::RECORDS {
                            record_failure(recorder, events, name, &error)?;
                        }
                        let (Some(used), Some(policy)) =
                            (progress.retries.get_mut(retrier), state.retry.get(retrier))
                        else {
                            return Err(Halt::Failed(ExecutionError::InvalidWorkflow {
                                workflow: def.name.to_string(),
                                reason: format!("state `{name}` has no retrier {retrier}"),
                            }));
                        };
                        *used += 1;
                        let rng = rng.get_or_insert_with(|| match self.seed {
                            Some(seed) => fastrand::Rng::with_seed(seed),
                            None => fastrand::Rng::new(),
                        });
                        let delay = policy.jittered_delay_before(*used, rng.f64());
                        tracing::debug!(
                            execution = %execution_id, state = name, retrier,
                            retry = *used, ?delay, error = %error, "retrying"
                        );
                        checkpoint = same;
                        progress.attempt += 1;
                        progress.wake_at = Some(clock.get().now() + delay);
                        // The backoff is a stored deadline: a restart sleeps out
                        // only what is left of it.
                        if R::RECORDS {
                            recorder.commit(&checkpoint, &progress, false).await?;
                            seen = true;
                        }
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
                        if R::RECORDS {
                            record_failure(recorder, events, name, &error)?;
                            if let Some(exited) = events.exited {
                                recorder.record(exited, Some(name), Data::Checkpoint(&next))?;
                            }
                            seen = events.exited.is_some();
                        }
                        checkpoint = next;
                    }
                    Step::Wait { next, until } => {
                        let wake_at = match until {
                            WaitUntil::Elapsed(duration) => clock.get().now() + duration,
                            WaitUntil::Time(time) => time,
                        };
                        checkpoint = next;
                        progress.waiting = Some(name);
                        progress.wake_at = Some(wake_at);
                        // The next state is not entered until the wait is over;
                        // commit the wait now so a restart keeps the deadline.
                        progress.entry += 1;
                        progress.entered = false;
                        if R::RECORDS {
                            recorder.commit(&checkpoint, &progress, false).await?;
                            seen = true;
                        }
                        continue;
                    }
                    Step::Succeeded(output) => {
                        if R::RECORDS {
                            record_success(recorder, events, name, Data::Output(&output))?;
                        }
                        tracing::trace!(execution = %execution_id, "execution succeeded");
                        return Ok(output);
                    }
                    Step::Failed(failure) => {
                        if R::RECORDS && !matches!(state.kind, Kind::Fail { .. }) {
                            let error =
                                ErrorInfo::new(failure.error.clone(), failure.cause.clone());
                            record_failure(recorder, events, name, &error)?;
                        }
                        tracing::debug!(execution = %execution_id, %failure, "execution failed");
                        return Err(Halt::Failed(ExecutionError::Failed(failure)));
                    }
                }
                progress.entry += 1;
                progress.entered = false;
            }
        }
    }
}

/// Records that state `name` succeeded and left with `data` (the next
/// state's checkpoint, or the execution's output), as far as its kind has
/// such events.
fn record_success<W: Workflow, R: Recorder<W>>(
    recorder: &mut R,
    events: &Events,
    name: &'static str,
    data: Data<'_, W>,
) -> Result<(), ExecutionError> {
    if let Some(succeeded) = events.succeeded {
        recorder.record(succeeded, Some(name), Data::None)?;
    }
    if let Some(exited) = events.exited {
        recorder.record(exited, Some(name), data)?;
    }
    Ok(())
}

/// Records that state `name` failed with `error`, as its kind records a
/// failure.
fn record_failure<W: Workflow, R: Recorder<W>>(
    recorder: &mut R,
    events: &Events,
    name: &'static str,
    error: &ErrorInfo,
) -> Result<(), ExecutionError> {
    recorder.record(events.failed(error), Some(name), Data::Error(error))
}

/// How a run ended: with the execution's end, or parked on a timer until
/// the engine resumes it.
pub(crate) enum Ran<T> {
    Ended(Result<T, ExecutionError>),
    Parked,
}

/// Why the driver loop stopped before the end.
pub(crate) enum Halt {
    Failed(ExecutionError),
    Parked,
}

impl From<ExecutionError> for Halt {
    fn from(error: ExecutionError) -> Self {
        Halt::Failed(error)
    }
}

/// Records how the execution ended and writes its last transition; a
/// failure to record the output (it is too large) fails the execution
/// instead.
async fn finish<W: Workflow, R: Recorder<W>>(
    recorder: &mut R,
    result: Result<W::Output, ExecutionError>,
) -> Result<W::Output, ExecutionError> {
    // A store that refused a write has not recorded this execution's end,
    // and must not be written to again by this driver.
    if let Err(ExecutionError::Store(_)) = &result {
        return result;
    }
    if !R::RECORDS {
        return result;
    }
    let result = match result {
        Ok(output) => {
            match recorder.record(EventKind::ExecutionSucceeded, None, Data::Output(&output)) {
                Ok(()) => match recorder.end(Ok(&output)).await {
                    Ok(()) => return Ok(output),
                    Err(error) => return Err(error),
                },
                Err(error) => Err(error),
            }
        }
        Err(error) => Err(error),
    };
    let Err(error) = result else {
        return result;
    };
    let kind = match error {
        ExecutionError::TimedOut { .. } => EventKind::ExecutionTimedOut,
        _ => EventKind::ExecutionFailed,
    };
    // The execution has ended either way; a refused terminal event (the
    // history is full) changes nothing about the outcome.
    let _ = recorder.record(kind, None, Data::Error(&error.info()));
    recorder.end(Err(&error)).await?;
    Err(error)
}
