//! Compile-time checks that generated code runs on the user's types.
//!
//! Each check is a trait with a blanket impl for exactly the types that fit,
//! so a misfit is an unimplemented trait; `#[diagnostic::on_unimplemented]`
//! turns that into a message about the workflow, and the macro spans the
//! call on the user's own tokens (the handler or the `next = X`).

use std::future::Future;

use crate::context::Caught;
use crate::error::{Interrupt, TaskError};

/// A value that a state can receive as its data: exactly the state's type.
#[diagnostic::on_unimplemented(
    message = "this state receives `{Self}`, but its data type is `{T}`",
    label = "expected `{T}`, found `{Self}`",
    note = "what a state produces must be exactly the data type of the state it goes to"
)]
pub trait Receives<T> {
    /// The value itself.
    fn receive(self) -> T;
}

impl<T> Receives<T> for T {
    fn receive(self) -> T {
        self
    }
}

/// Checks that `value` is the data of a state of type `T`, and returns it.
pub fn edge<T, V: Receives<T>>(value: V) -> T {
    value.receive()
}

/// What a task handler returns: a `Result`.
#[diagnostic::on_unimplemented(
    message = "a task handler must return `Result<Output, Error>`, but this one returns `{Self}`",
    label = "this handler's output is not a `Result`",
    note = "a task is `async fn(Ctx<'_, C>, Input) -> Result<Output, Error>`"
)]
pub trait TaskOutput {
    /// The output on success.
    type Ok;
    /// The handler's error type.
    type Err: std::fmt::Debug + std::fmt::Display;
    /// The result.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E: std::fmt::Debug + std::fmt::Display> TaskOutput for Result<T, E> {
    type Ok = T;
    type Err = E;
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// What calling a task handler gives: a future of a [`TaskOutput`].
#[diagnostic::on_unimplemented(
    message = "a task handler must be an `async fn`, but calling this one gives `{Self}`",
    label = "not a future",
    note = "a task is `async fn(Ctx<'_, C>, Input) -> Result<Output, Error>`"
)]
pub trait TaskFuture: Future<Output = <Self as TaskFuture>::Result> + Send {
    /// The handler's result.
    type Result: TaskOutput;
}

impl<F> TaskFuture for F
where
    F: Future + Send,
    F::Output: TaskOutput,
{
    type Result = F::Output;
}

/// Checks that a handler call is a task's future, and returns it.
pub fn task<F: TaskFuture>(future: F) -> F {
    future
}

/// Splits an attempt's outcome into the output or a [`TaskError`].
pub fn task_result<R: TaskOutput>(
    outcome: Result<R, Interrupt>,
) -> Result<R::Ok, TaskError<R::Err>> {
    match outcome {
        Ok(result) => result.into_result().map_err(TaskError::Failed),
        Err(interrupt) => Err(interrupt.into()),
    }
}

/// An input that a state with retry or catch can send again.
#[diagnostic::on_unimplemented(
    message = "a state with #[retry] or #[catch] needs its input again after a failure, so `{Self}` must implement `Clone`",
    label = "`{Self}` is not `Clone`",
    note = "derive `Clone` for `{Self}`, or remove the state's #[retry] and #[catch]"
)]
pub trait Resend: Sized {
    /// A copy to send.
    fn resend(&self) -> Self;
}

impl<T: Clone> Resend for T {
    fn resend(&self) -> Self {
        self.clone()
    }
}

/// A copy of a state's input for one attempt or branch.
pub fn resend<T: Resend>(input: &T) -> T {
    input.resend()
}

/// What a catch sends to its target: `Caught<In, E>`, converted by `From`.
#[diagnostic::on_unimplemented(
    message = "this catch target cannot receive `{Self}`",
    label = "`{T}` does not implement `From<{Self}>`",
    note = "a catch target's data type must be `Caught<In, E>` or implement `From<Caught<In, E>>`"
)]
pub trait CatchInto<T> {
    /// The target's data.
    fn catch_into(self) -> T;
}

impl<T, In, E> CatchInto<T> for Caught<In, E>
where
    T: From<Caught<In, E>>,
{
    fn catch_into(self) -> T {
        T::from(self)
    }
}

/// Converts a caught error into the catch target's data.
pub fn catch<T, C: CatchInto<T>>(caught: C) -> T {
    caught.catch_into()
}

/// Data a Fail state can describe as its cause.
#[diagnostic::on_unimplemented(
    message = "a #[fail] state's data is its cause, so `{Self}` must implement `Debug`",
    label = "`{Self}` is not `Debug`",
    note = "derive `Debug` for `{Self}`, or give the state a fixed `cause = \"...\"`"
)]
pub trait Cause {
    /// The cause as text.
    fn cause(&self) -> String;
}

impl<T: std::fmt::Debug> Cause for T {
    fn cause(&self) -> String {
        format!("{self:?}")
    }
}

/// The cause a Fail state reports for its data.
pub fn cause<T: Cause>(data: &T) -> String {
    data.cause()
}

/// A value a workflow can end with: exactly its output type.
#[diagnostic::on_unimplemented(
    message = "this workflow's output type is `{T}`, but this way of ending it produces `{Self}`",
    label = "expected `{T}`, found `{Self}`",
    note = "every #[succeed] state and every `end` must produce the workflow's one output type (the first #[succeed] state's data type, or #[workflow(output = T)])"
)]
pub trait Ends<T> {
    /// The value itself.
    fn end(self) -> T;
}

impl<T> Ends<T> for T {
    fn end(self) -> T {
        self
    }
}

/// Checks that `value` is the workflow's output, and returns it.
pub fn output<T, V: Ends<T>>(value: V) -> T {
    value.end()
}
