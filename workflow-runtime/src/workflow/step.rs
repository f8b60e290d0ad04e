//! What a state gets to run once: [`StepCx`], with the driver's services (a
//! task's attempt under its timers, branches and map items run as children
//! through `children.rs`). What it reports back, [`Step`](crate::Step), is
//! `mod.rs`'s.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use workflow_core::{Kind, State, Tolerance};

use super::children::{self, ChildEvents, Which};
use super::typing::{Branch, TaskFuture, TaskOutput};
use crate::attempt;
use crate::clock::{Clock, LazyClock};
use crate::context::{Ctx, ExecutionId, Heartbeat};
use crate::error::{ErrorInfo, ExecutionError, Failure, Interrupt, TaskError};
use crate::journal::{ChildKey, Journal};
use crate::runner::Runner;

/// What generated code gets to run one state: the context, the state's
/// definition, the retry counters of this entry, and the driver's services.
///
/// Its methods are called by the code `#[workflow]` generates; you do not
/// normally use it directly.
pub struct StepCx<'a, C> {
    pub(crate) context: &'a C,
    pub(crate) execution_id: &'a ExecutionId<'a>,
    pub(crate) state: &'static State,
    pub(crate) entry: u64,
    pub(crate) attempt: u32,
    pub(crate) retries_used: &'a [u32],
    pub(crate) heartbeat: &'a Heartbeat,
    pub(crate) clock: &'a LazyClock,
    pub(crate) runner: &'a Runner,
    pub(crate) journal: Option<&'a dyn Journal>,
}

impl<'a, C: Send + Sync + 'static> StepCx<'a, C> {
    /// The handler's view of this attempt.
    pub fn task_ctx(&self) -> Ctx<'a, C> {
        Ctx {
            context: self.context,
            execution_id: self.execution_id,
            state: state_name(self.state),
            entry: self.entry,
            attempt: self.attempt,
            heartbeat: self.heartbeat,
            callbacks: self.runner.callbacks(),
        }
    }

    /// The shared context.
    pub fn context(&self) -> &'a C {
        self.context
    }

    /// The clock the driver runs on; its wall time follows tokio's clock.
    pub fn clock(&self) -> &'a Clock {
        self.clock.get()
    }

    /// Runs one attempt of a task: the handler's future under the state's
    /// `timeout` and `heartbeat`, a panic caught, the outcome split into the
    /// output or a [`TaskError`]. One bound (`F: TaskFuture`) checks the
    /// handler's future, so a handler of the wrong shape gives one error;
    /// its error type is checked where the error is described
    /// (`typing::attempted`), so that a misfit there
    /// is reported on its own.
    ///
    /// # Errors
    ///
    /// [`TaskError`]: the handler's own error, a timeout or a missed
    /// heartbeat, or a panic.
    pub async fn task<F: TaskFuture>(
        &self,
        handler: F,
    ) -> Result<<F::Result as TaskOutput>::Ok, TaskError<<F::Result as TaskOutput>::Err>> {
        if let Some(expired) = self.heartbeat.expired() {
            return Err(expired.clone().into());
        }
        if self.timers() == (None, None) {
            // No timers: the untimed attempt, with none of the layers of
            // `attempt` around it.
            return Untimed { handler }.await;
        }
        match self.attempt(handler).await {
            Ok(result) => result.into_result().map_err(TaskError::Failed),
            Err(interrupt) => Err(interrupt.into()),
        }
    }

    /// [`task`](Self::task) for a state with neither a `timeout` nor a
    /// `heartbeat`, which `#[workflow]` knows when it expands: the
    /// handler's own future with panics caught. No timer code is compiled
    /// for it, which, over a workflow of many states, is most of what the
    /// compiler would generate for them.
    ///
    /// # Errors
    ///
    /// [`TaskError`]: the handler's own error, or a panic.
    #[allow(clippy::type_complexity)]
    pub fn untimed_task<F: TaskFuture>(
        &self,
        handler: F,
    ) -> impl Future<
        Output = Result<<F::Result as TaskOutput>::Ok, TaskError<<F::Result as TaskOutput>::Err>>,
    > + use<F, C> {
        Untimed { handler }
    }

    /// Runs one attempt of a future under the state's `timeout` and
    /// `heartbeat`, turning a panic into [`Interrupt::Panicked`].
    pub fn attempt<F: Future>(
        &self,
        handler: F,
    ) -> impl Future<Output = Result<F::Output, Interrupt>> + use<'_, 'a, F, C> {
        let (timeout, heartbeat) = self.timers();
        attempt::run(handler, timeout, heartbeat, self.heartbeat)
    }

    /// The state's task timeout and heartbeat interval.
    fn timers(&self) -> (Option<Duration>, Option<Duration>) {
        task_timers(self.state)
    }

    /// Whether retrier `retrier` of this state has retries left in this entry.
    pub fn may_retry(&self, retrier: usize) -> bool {
        let used = self.retries_used.get(retrier).copied().unwrap_or(0);
        self.state
            .retry
            .get(retrier)
            .is_some_and(|r| used < r.max_attempts)
    }

    /// The failure of this state with this error.
    pub fn failure(&self, error: ErrorInfo) -> Failure {
        Failure {
            state: self.state.name.to_string(),
            error: error.name,
            cause: error.cause,
        }
    }

    /// Runs branch `index` of a Parallel state: workflow `W` on `input`, as a
    /// child execution of this one.
    #[allow(clippy::type_complexity)]
    pub fn branch<W, In>(
        &self,
        index: usize,
        input: In,
    ) -> Pin<Box<dyn Future<Output = Result<W::Out, TaskError<ExecutionError>>> + Send + 'a>>
    where
        W: Branch<In, C>,
    {
        let child = self.child::<W, In>(ChildEvents::BRANCH, index, W::accept(input));
        Box::pin(async move { child.await.map(W::finish).map_err(TaskError::Failed) })
    }

    /// Runs a Map state: workflow `W` once per item, at most
    /// `max_concurrency` at once (a finished item frees its slot at once,
    /// whatever its position), outputs in item order. The first failure
    /// fails the state and cancels the items still running.
    ///
    /// The workflow is named last, by `_workflow`, so that the items' type
    /// is known when `W` is checked against it (see [`Branch`]).
    ///
    /// # Errors
    ///
    /// The first item's failure, as [`TaskError::Failed`].
    pub async fn map<I, W>(
        &self,
        items: I,
        _workflow: PhantomData<fn() -> W>,
    ) -> Result<Vec<W::Output>, TaskError<ExecutionError>>
    where
        W: Branch<I::Item, C>,
        I: IntoIterator,
        I::IntoIter: Send,
    {
        let mut outputs = Vec::new();
        let mut runs = self.items::<W, I>(items);
        while let Some((index, result)) = runs.next().await {
            place(&mut outputs, index, result.map_err(TaskError::Failed)?);
        }
        Ok(outputs.into_iter().flatten().collect())
    }

    /// Runs a Map state that tolerates failures: every item runs, each output
    /// is the item's result, and the state fails with
    /// `States.ExceedToleratedFailureThreshold` only when more items failed
    /// than its tolerance allows. The workflow is named last, as in
    /// [`map`](Self::map).
    ///
    /// # Errors
    ///
    /// `States.ExceedToleratedFailureThreshold`, as [`TaskError::Failed`],
    /// when more items failed than the state tolerates.
    pub async fn map_tolerant<I, W>(
        &self,
        items: I,
        _workflow: PhantomData<fn() -> W>,
    ) -> Result<Vec<Result<W::Output, ExecutionError>>, TaskError<ExecutionError>>
    where
        W: Branch<I::Item, C>,
        I: IntoIterator,
        I::IntoIter: Send,
    {
        let tolerance = match &self.state.kind {
            Kind::Map { tolerance, .. } => *tolerance,
            _ => Tolerance::default(),
        };
        let mut results = Vec::new();
        let mut runs = self.items::<W, I>(items);
        while let Some((index, result)) = runs.next().await {
            place(&mut results, index, result);
        }
        let results: Vec<_> = results.into_iter().flatten().collect();
        let failed = results.iter().filter(|r| r.is_err()).count();
        if exceeds(tolerance, failed, results.len()) {
            let cause = format!("{failed} of {} items failed", results.len());
            return Err(TaskError::Failed(ExecutionError::Failed(Failure {
                state: self.state.name.to_string(),
                error: "States.ExceedToleratedFailureThreshold".to_owned(),
                cause,
            })));
        }
        Ok(results)
    }

    /// The map's item executions, at most `max_concurrency` at once, each
    /// result tagged with its item's position.
    fn items<W, I>(
        &self,
        items: I,
    ) -> impl futures_util::Stream<Item = (usize, Result<W::Output, ExecutionError>)> + Send + 'a
    where
        W: Branch<I::Item, C>,
        I: IntoIterator,
        I::IntoIter: Send,
    {
        let limit = self.map_limit();
        let runs: Vec<_> = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let child = self.child::<W, I::Item>(ChildEvents::ITEM, i, W::accept(item));
                async move { (i, child.await) }
            })
            .collect();
        stream::iter(runs).buffer_unordered(limit)
    }

    fn map_limit(&self) -> usize {
        match &self.state.kind {
            Kind::Map {
                max_concurrency, ..
            } if *max_concurrency > 0 => usize::try_from(*max_concurrency).unwrap_or(usize::MAX),
            _ => usize::MAX,
        }
    }

    fn child_id(&self, index: usize) -> String {
        format!(
            "{}/{}/{}/{index}",
            self.execution_id.get(),
            self.state.name,
            self.entry
        )
    }

    /// A child execution (a branch or an item), boxed because a workflow
    /// may contain itself.
    fn child<W, In>(
        &self,
        events: ChildEvents,
        index: usize,
        input: W::Input,
    ) -> Pin<Box<dyn Future<Output = Result<W::Output, ExecutionError>> + Send + 'a>>
    where
        W: Branch<In, C>,
    {
        let runner = self.runner.child(self.child_id(index));
        let context = W::context(self.context);
        let key = ChildKey {
            entry: self.entry,
            attempt: self.attempt,
            index,
        };
        let which = Which {
            events,
            state: state_name(self.state),
            key,
            codec: W::codec(),
        };
        Box::pin(children::run::<W>(
            runner,
            context,
            input,
            self.journal,
            which,
        ))
    }
}

/// The name and cause of a branch's or item's failure: the child's own error,
/// so `on = [...]` matches a Parallel or Map state by the names its children
/// fail with.
pub fn branch_info(error: &TaskError<ExecutionError>) -> ErrorInfo {
    match error {
        TaskError::Failed(child) => child.info(),
        TaskError::Timeout => ErrorInfo::new("States.Timeout", "the state timed out"),
        TaskError::HeartbeatTimeout => ErrorInfo::new(
            "States.HeartbeatTimeout",
            "the state sent no heartbeat in time",
        ),
        TaskError::Panicked(message) => ErrorInfo::new("States.TaskFailed", message.clone()),
    }
}

/// Puts `value` at `index`, growing the list as needed.
fn place<T>(list: &mut Vec<Option<T>>, index: usize, value: T) {
    if list.len() <= index {
        list.resize_with(index + 1, || None);
    }
    list[index] = Some(value);
}

/// Whether `failed` of `total` items is more than the tolerance allows: with
/// both a count and a percentage, exceeding either is too many (as in Step
/// Functions); with neither, any failure is.
fn exceeds(tolerance: Tolerance, failed: usize, total: usize) -> bool {
    if failed == 0 {
        return false;
    }
    let over_count = tolerance
        .count
        .map(|n| failed > usize::try_from(n).unwrap_or(usize::MAX));
    let over_share = tolerance
        .percentage
        .map(|p| (failed as f64) * 100.0 > p * (total as f64));
    match (over_count, over_share) {
        (None, None) => true,
        (count, share) => count.unwrap_or(false) || share.unwrap_or(false),
    }
}

/// A task state's timeout and heartbeat interval (none for other kinds).
pub(crate) fn task_timers(state: &State) -> (Option<Duration>, Option<Duration>) {
    match &state.kind {
        Kind::Task {
            timeout, heartbeat, ..
        } => (*timeout, *heartbeat),
        _ => (None, None),
    }
}

fn state_name(state: &'static State) -> &'static str {
    &state.name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_by_count_and_share() {
        let none = Tolerance::default();
        assert!(!exceeds(none, 0, 10));
        assert!(exceeds(none, 1, 10));
        let two = Tolerance {
            count: Some(2),
            percentage: None,
        };
        assert!(!exceeds(two, 2, 10));
        assert!(exceeds(two, 3, 10));
        let half = Tolerance {
            count: None,
            percentage: Some(50.0),
        };
        assert!(!exceeds(half, 5, 10));
        assert!(exceeds(half, 6, 10));
        let both = Tolerance {
            count: Some(1),
            percentage: Some(50.0),
        };
        assert!(!exceeds(both, 1, 10));
        assert!(exceeds(both, 3, 10), "over the count, under the share");
        assert!(exceeds(both, 2, 3), "over both");
    }
}

pin_project_lite::pin_project! {
    /// An untimed task's attempt: the handler's future polled with panics
    /// caught, its result split into the output or a [`TaskError`]. A
    /// future of its own rather than an `async` body, whose state machine
    /// the compiler would generate again for every handler.
    struct Untimed<F> {
        #[pin]
        handler: F,
    }
}

impl<F: TaskFuture> Future for Untimed<F> {
    type Output = Result<<F::Result as TaskOutput>::Ok, TaskError<<F::Result as TaskOutput>::Err>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        attempt::poll_caught::<F::Result>(self.project().handler, cx).map(|attempted| {
            match attempted {
                Ok(result) => result.into_result().map_err(TaskError::Failed),
                Err(interrupt) => Err(interrupt.into()),
            }
        })
    }
}
