//! Compile-time checks that generated code runs on the user's types.
//!
//! Each check is a trait with a blanket impl for exactly the types that fit,
//! so a misfit is an unimplemented trait; `#[diagnostic::on_unimplemented]`
//! turns that into a message about the workflow, and the macro spans the
//! call on the user's own tokens (the handler or the `next = X`).

use std::future::Future;

use super::{Attempted, WaitUntil, Workflow};
use crate::context::{Caught, Ctx};
use crate::error::TaskError;

mod probes;

pub use probes::{
    ChildProbe, Codec, CodecProbe, CollectNothing, CollectWorkflow, NoCodec, SerdeCodec,
};

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

/// A task handler for a state whose data is `In`, in a workflow whose
/// context is `C`: `async fn(Ctx<'_, C>, In) -> Result<Out, E>`.
///
/// `Out` (the next state's data type, or the workflow's output) is there
/// for the message only: the output is checked where it goes, on the
/// `next = X` token. `M` tells the impls apart; the second never applies,
/// and it is there so that a handler of another shape matches neither and
/// the compiler reports this trait, with this message, rather than the
/// `FnOnce` bound inside the first.
#[diagnostic::on_unimplemented(
    message = "this task's handler must be `async fn(cx: Ctx<'_, {C}>, input: {In}) -> Result<{Out}, E>`",
    label = "expected `async fn(Ctx<'_, {C}>, {In}) -> Result<{Out}, E>`",
    note = "a task handler takes the context first, as `Ctx<'_, {C}>` (not `&{C}`), then the state's data by value; `E` is its error type, which implements `Debug` and `Display`"
)]
pub trait TaskFn<'a, C: 'a, In, Out, M> {
    /// What calling the handler gives.
    type Future;
    /// Calls the handler.
    fn call(self, cx: Ctx<'a, C>, input: In) -> Self::Future;
}

/// [`TaskFn`]'s marker for `fn(Ctx<'_, C>, In) -> Future`.
#[doc(hidden)]
pub struct Handler;

/// [`TaskFn`]'s marker for the impl that never applies.
#[doc(hidden)]
pub struct NotAHandler;

/// Implemented by nothing: the bound of [`TaskFn`]'s second impl.
#[doc(hidden)]
pub trait Unimplemented {}

impl<'a, C: 'a, In, Out, F, Fut> TaskFn<'a, C, In, Out, Handler> for F
where
    F: FnOnce(Ctx<'a, C>, In) -> Fut,
{
    type Future = Fut;
    fn call(self, cx: Ctx<'a, C>, input: In) -> Fut {
        self(cx, input)
    }
}

impl<'a, C: 'a, In, Out, F: Unimplemented> TaskFn<'a, C, In, Out, NotAHandler> for F {
    type Future = std::future::Pending<()>;
    fn call(self, _cx: Ctx<'a, C>, _input: In) -> Self::Future {
        std::future::pending()
    }
}

/// Calls a task handler on the state's data, checked to be a [`TaskFn`]:
/// the context's, the data's and the output's types are the macro's, so
/// the message names them, and the handler comes last so that they are
/// known when it is checked.
pub fn task<'a, C: 'a, In, Out, M, F: TaskFn<'a, C, In, Out, M>>(
    cx: Ctx<'a, C>,
    input: In,
    handler: F,
) -> F::Future {
    handler.call(cx, input)
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
    /// The handler's error type, checked to be a [`HandlerError`] where a
    /// failure is described ([`attempted`]): a bound here would be
    /// reported through this trait and the future's, not on the error type.
    type Err;
    /// The result.
    ///
    /// # Errors
    ///
    /// The handler's own error, as it returned it.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> TaskOutput for Result<T, E> {
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

/// A task handler's error type: the history records its `Debug` (the
/// variant, as the error's name) and its `Display` (the cause).
#[diagnostic::on_unimplemented(
    message = "a task handler's error type must implement `Debug` and `Display`, and `{Self}` does not implement both",
    label = "this handler's error type is `{Self}`",
    note = "derive `Debug` and implement `Display` for `{Self}` (`#[derive(Debug, thiserror::Error)]` does both); the history records the variant as the error's name and the text as its cause"
)]
pub trait HandlerError: std::fmt::Debug + std::fmt::Display {}

impl<E: std::fmt::Debug + std::fmt::Display> HandlerError for E {}

/// A failed task attempt, described: its name and cause, for the history
/// and the matchers. The handler's error type is checked here, on its own,
/// so that a type without `Debug` or `Display` is one error that names it.
pub fn attempted<E: HandlerError>(error: TaskError<E>) -> Attempted<E> {
    let info = error.info();
    Attempted { error, info }
}

/// An input that a state sends more than once: again after a failure (with
/// retry or catch) or to each of several branches.
#[diagnostic::on_unimplemented(
    message = "this state sends its data more than once (again after a failure, or to each branch), so `{Self}` must implement `Clone`",
    label = "`{Self}` is not `Clone`",
    note = "derive `Clone` for `{Self}`; a task without #[retry] and #[catch] needs no `Clone`"
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

/// A Fail state's data, asked for its cause:
/// `cause_text((&&&CauseOf(&data)).cause())`. Method lookup tries the most
/// referenced receiver first, so [`CauseByDisplay`] answers when the data
/// is `Display` (a type that says how it reads to people is read that way),
/// else [`CauseByDebug`], else [`CauseMissing`], whose [`Undescribed`]
/// [`cause_text`] refuses with a message that says what to do.
pub struct CauseOf<'a, T>(pub &'a T);

/// The cause of `Display` data.
pub trait CauseByDisplay {
    /// The data's `Display`.
    fn cause(&self) -> String;
}

impl<T: std::fmt::Display> CauseByDisplay for &&CauseOf<'_, T> {
    fn cause(&self) -> String {
        self.0.to_string()
    }
}

/// The cause of `Debug` data.
pub trait CauseByDebug {
    /// The data's `Debug`.
    fn cause(&self) -> String;
}

impl<T: std::fmt::Debug> CauseByDebug for &CauseOf<'_, T> {
    fn cause(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// Data that is neither: no cause, refused by [`cause_text`].
pub trait CauseMissing {
    /// Nothing to describe the data with.
    fn cause(&self) -> Undescribed;
}

impl<T> CauseMissing for CauseOf<'_, T> {
    fn cause(&self) -> Undescribed {
        Undescribed
    }
}

/// What data without `Display` or `Debug` gives as its cause.
pub struct Undescribed;

/// A cause a Fail state can report: text.
#[diagnostic::on_unimplemented(
    message = "a #[fail] state's data is its cause, so it must implement `Display` or `Debug`",
    label = "this state's data is neither `Display` nor `Debug`",
    note = "implement `Display` (or derive `Debug`) for the data, name the field that holds the cause (`cause = reason`), or give a fixed `cause = \"...\"`"
)]
pub trait CauseText {
    /// The text.
    fn text(self) -> String;
}

impl CauseText for String {
    fn text(self) -> String {
        self
    }
}

/// The cause a Fail state reports for its data.
pub fn cause_text<T: CauseText>(cause: T) -> String {
    cause.text()
}

/// A field named by `#[fail(cause = field)]`: it must read as text.
#[diagnostic::on_unimplemented(
    message = "the field a #[fail] state takes its cause from must implement `Display`, and `{Self}` does not",
    label = "`{Self}` is not `Display`",
    note = "name a field that is text (a `String`, say), or give a fixed `cause = \"...\"`"
)]
pub trait CauseField {
    /// The field as text.
    fn cause_text(&self) -> String;
}

impl<T: std::fmt::Display + ?Sized> CauseField for T {
    fn cause_text(&self) -> String {
        self.to_string()
    }
}

/// The cause a Fail state reports from the field `#[fail(cause = field)]`
/// names.
pub fn cause_field<T: CauseField + ?Sized>(field: &T) -> String {
    field.cause_text()
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

/// A workflow that can run as a branch or map item of a state whose input
/// (or item) type is `In` and whose context type is `C`.
///
/// `#[workflow]` implements it once per workflow, for exactly its own input
/// and context types, so a misfit is an unimplemented trait with a message
/// about the branch rather than a type mismatch deep in the runtime.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run here: this state would give it `{In}` and context `{C}`",
    label = "this workflow's input or context type does not fit",
    note = "a branch workflow's input must be the parallel state's data type, a map workflow's input the type of the items, and both must have this workflow's context type"
)]
pub trait Branch<In, C>: Workflow<Context = C> {
    /// The workflow's output, named through this trait so that a misfit
    /// leaves no other type to check (and no second error).
    type Out: Send + 'static;
    /// The input, as the workflow's own input type.
    fn accept(input: In) -> Self::Input;
    /// The context, as the workflow's own context type.
    fn context(context: &C) -> &Self::Context;
    /// The output, as [`Branch::Out`].
    fn finish(output: Self::Output) -> Self::Out;

    /// How an engine keeps a finished child's output in its checkpoint:
    /// as JSON, when the output type is serde's. `None` (the default) keeps
    /// none, and the child runs again whenever its state resumes.
    /// `#[workflow]` implements it through [`CodecProbe`].
    #[doc(hidden)]
    fn codec() -> Option<Codec<Self::Output>> {
        None
    }
}

/// A pass, wait or map items function: `fn(A) -> R`, or
/// `fn(Cx, A) -> R` to read the workflow's context `Cx` (`&C`) as well. `A`
/// is the state's data (a wait's and a map's by reference).
///
/// The two forms differ in arity, so exactly one marker `M` fits a given
/// function and the compiler infers it from the function's own signature:
/// the attribute needs no flag, and a function of neither form is one
/// unimplemented trait, reported on the function's name.
#[diagnostic::on_unimplemented(
    message = "this state's function must take `{A}`, or `{Cx}` (the workflow's context) and then `{A}`",
    label = "expected `fn({A}) -> _` or `fn({Cx}, {A}) -> _`",
    note = "the context is the type of `#[workflow(context = C)]`, `()` without it"
)]
pub trait StateFn<Cx, A, M> {
    /// What the function returns.
    type Out;
    /// Calls the function, with the context if it takes it.
    fn call(self, context: Cx, arg: A) -> Self::Out;
}

/// [`StateFn`]'s marker for `fn(A) -> R`.
#[doc(hidden)]
pub struct WithoutContext;

/// [`StateFn`]'s marker for `fn(Cx, A) -> R`.
#[doc(hidden)]
pub struct WithContext;

impl<F, Cx, A, R> StateFn<Cx, A, WithoutContext> for F
where
    F: FnOnce(A) -> R,
{
    type Out = R;
    fn call(self, _context: Cx, arg: A) -> R {
        self(arg)
    }
}

impl<F, Cx, A, R> StateFn<Cx, A, WithContext> for F
where
    F: FnOnce(Cx, A) -> R,
{
    type Out = R;
    fn call(self, context: Cx, arg: A) -> R {
        self(context, arg)
    }
}

/// Calls a pass, wait or map items function in whichever form it
/// has.
///
/// The function comes last: the compiler then knows the context's and the
/// data's types before it checks the function against them, and a misfit is
/// reported as this trait's message rather than as an argument of `call`
/// that does not match the function.
pub fn call<M, Cx, A, F: StateFn<Cx, A, M>>(context: Cx, arg: A, function: F) -> F::Out {
    function.call(context, arg)
}
/// A workflow that runs on an engine whose context is of type `C`: its
/// own context type is `C`.
///
/// It holds through the workflow's [`Branch`] impl, which `#[workflow]`
/// writes for exactly its own context type (even after an error), so a
/// misfit is that impl missing, reported with this message, rather than a
/// mismatch of associated types.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot run on an `Engine<{C}>`: its context is of another type",
    label = "`{Self}`'s context is not `{C}`",
    note = "the value given to `Engine::new` (or `Engine::builder`) is the context of every workflow the engine runs: its type must be the one in `#[workflow(context = ...)]`, `()` without it"
)]
pub trait RunsOn<C>: Workflow<Context = C> {}

impl<W, C> RunsOn<C> for W where W: Workflow + Branch<<W as Workflow>::Input, C> {}

/// A value an engine writes and reads back: the workflow's enum (every
/// checkpoint, with its states' data) and its output, which must be both
/// [`Stored`] and [`Restored`].
///
/// One bound for the two derives, so that a type missing both is one error,
/// not one per derive: its impl is `#[diagnostic::do_not_recommend]`, so the
/// compiler reports this trait, once, rather than each of serde's traits
/// the impl asks for.
#[diagnostic::on_unimplemented(
    message = "`{Self}` must derive Serialize and Deserialize to run on an Engine (it is stored, and read back to resume)",
    label = "`{Self}` is not both `Serialize` and `Deserialize`",
    note = "an engine writes every checkpoint (the workflow's enum, with its states' data) and the output to its store, and reads them back to resume: `#[derive(Serialize, Deserialize)]`"
)]
pub trait Persisted: serde::Serialize + serde::de::DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + serde::de::DeserializeOwned> Persisted for T {}

/// A value an engine writes: the workflow's enum (every checkpoint, with
/// its states' data) and its output, with the input kept beside them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` must derive Serialize to run on an Engine (it is stored)",
    label = "`{Self}` is not `Serialize`",
    note = "an engine writes every checkpoint (the workflow's enum, with its states' data) and the output to its store, and reads them back to resume: `#[derive(Serialize, Deserialize)]`"
)]
pub trait Stored: serde::Serialize {}

impl<T: serde::Serialize> Stored for T {}

/// A value an engine reads back to resume: the workflow's enum and its
/// output. `register` asks for [`Persisted`], which holds with this and
/// [`Stored`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` must derive Deserialize to run on an Engine (it is read back to resume)",
    label = "`{Self}` is not `Deserialize`",
    note = "an engine writes every checkpoint (the workflow's enum, with its states' data) and the output to its store, and reads them back to resume: `#[derive(Serialize, Deserialize)]`"
)]
pub trait Restored: serde::de::DeserializeOwned {}

impl<T: serde::de::DeserializeOwned> Restored for T {}

/// A choice function: `fn(A) -> R`, or `fn(Cx, A) -> R` to read the
/// workflow's context `Cx` (`&C`) as well, where `R` is the choice's enum
/// of targets.
///
/// [`StateFn`] with the return type fixed: an `async fn`, or one that
/// returns another type, fits neither form and is reported here with the
/// whole signature, not as a future where the enum was expected.
#[diagnostic::on_unimplemented(
    message = "this choice function must be `fn(input: {A}) -> {R}`, or `fn(context: {Cx}, input: {A}) -> {R}`",
    label = "expected `fn({A}) -> {R}` or `fn({Cx}, {A}) -> {R}`",
    note = "a choice function is a plain `fn` (not `async`) that takes the state's data by value, after the workflow's context by reference if it reads it, and returns the choice's enum of targets"
)]
pub trait ChoiceFn<Cx, A, R, M> {
    /// Calls the function, with the context if it takes it.
    fn choose(self, context: Cx, arg: A) -> R;
}

impl<F, Cx, A, R> ChoiceFn<Cx, A, R, WithoutContext> for F
where
    F: FnOnce(A) -> R,
{
    fn choose(self, _context: Cx, arg: A) -> R {
        self(arg)
    }
}

impl<F, Cx, A, R> ChoiceFn<Cx, A, R, WithContext> for F
where
    F: FnOnce(Cx, A) -> R,
{
    fn choose(self, context: Cx, arg: A) -> R {
        self(context, arg)
    }
}

/// Calls a choice function in whichever form it has; like [`call`], the
/// function comes last.
pub fn choose<R, M, Cx, A, F: ChoiceFn<Cx, A, R, M>>(context: Cx, arg: A, function: F) -> R {
    function.choose(context, arg)
}

/// The name a child's failure has when one of its tasks failed with the
/// variant `variant` of `E`, the error type that `pattern` matches: what a
/// Parallel or Map state's `on = [E::Variant]` compares the failure with.
///
/// The pattern (`|e| matches!(e, E::Variant { .. })`) is never called: it
/// has the compiler resolve the path, so a type or variant that does not
/// exist is an error on the user's token, as in a task's matcher, and it
/// names the type even when the path is the variant alone.
pub fn variant_name<E>(pattern: fn(&E) -> bool, variant: &str) -> String {
    let _ = pattern;
    crate::error::variant_name::<E>(variant)
}

/// What `#[wait(until = f)]` computes: a point in time.
#[diagnostic::on_unimplemented(
    message = "`until = f` must return a `SystemTime`, but this function returns `{Self}`",
    label = "expected `fn(&Input) -> SystemTime` or `fn(&C, &Input) -> SystemTime`",
    note = "for a duration instead, write `delay = f` with a function that returns `Duration`"
)]
pub trait WaitTime {
    /// The time.
    fn time(self) -> std::time::SystemTime;
}

impl WaitTime for std::time::SystemTime {
    fn time(self) -> std::time::SystemTime {
        self
    }
}

/// Checks what `#[wait(until = f)]` returns.
pub fn until<T: WaitTime>(time: T) -> WaitUntil {
    WaitUntil::Time(time.time())
}

/// What `#[wait(delay = f)]` computes: a duration.
#[diagnostic::on_unimplemented(
    message = "`delay = f` must return a `Duration`, but this function returns `{Self}`",
    label = "expected `fn(&Input) -> Duration` or `fn(&C, &Input) -> Duration`",
    note = "for a point in time instead, write `until = f` with a function that returns `SystemTime`"
)]
pub trait WaitDelay {
    /// The duration.
    fn duration(self) -> std::time::Duration;
}

impl WaitDelay for std::time::Duration {
    fn duration(self) -> std::time::Duration {
        self
    }
}

/// Checks what `#[wait(delay = f)]` returns.
pub fn delay<T: WaitDelay>(duration: T) -> WaitUntil {
    WaitUntil::Elapsed(duration.duration())
}
