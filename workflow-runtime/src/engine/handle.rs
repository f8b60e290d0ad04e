//! A started execution, as its starter holds it.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;

use serde::de::DeserializeOwned;

use super::{Description, Engine, EngineError};
use crate::error::ExecutionError;
use crate::store::StoreError;
use crate::workflow::Workflow;

/// A started execution: its id, its description, cancellation, and its
/// typed outcome (`handle.await` or [`outcome`](Self::outcome)).
pub struct ExecutionHandle<W: Workflow> {
    id: String,
    engine: Engine<W::Context>,
    created: bool,
    /// The output from JSON: made where the output type was checked to be
    /// serde's (`register`, or the bound of [`Engine::handle`]), so that
    /// awaiting the handle asks for no bound of its own.
    output: fn(&str) -> Result<W::Output, serde_json::Error>,
    _workflow: PhantomData<fn() -> W>,
}

/// A value from JSON: what a handle reads its output with, for a serde
/// output type.
pub(super) fn decode<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(text)
}

impl<W: Workflow> ExecutionHandle<W> {
    pub(crate) fn new(
        id: String,
        engine: Engine<W::Context>,
        created: bool,
        output: fn(&str) -> Result<W::Output, serde_json::Error>,
    ) -> Self {
        ExecutionHandle {
            id,
            engine,
            created,
            output,
            _workflow: PhantomData,
        }
    }

    /// The execution's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the `start` that gave this handle created the execution
    /// (`false`: one with that name and input existed, and this is it; an
    /// HTTP API answers 201 or 200).
    pub fn is_new(&self) -> bool {
        self.created
    }

    /// Where the execution stands now.
    ///
    /// # Errors
    ///
    /// The store's error ([`EngineError::Store`]) if it cannot be read.
    pub async fn describe(&self) -> Result<Option<Description>, EngineError> {
        self.engine.describe(&self.id).await
    }

    /// Cancels the execution: whatever it is running is dropped (or, if it
    /// is parked on a timer, it is ended in the store), its history ends
    /// with `ExecutionAborted`, and its outcome is
    /// [`ExecutionError::Aborted`]. Cancelling an ended execution does
    /// nothing.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] if the cancel cannot be written (the store
    /// is unavailable, say), or the execution is not in the store.
    pub async fn cancel(&self) -> Result<(), EngineError> {
        self.engine.cancel(&self.id).await
    }
}

impl<W: Workflow> ExecutionHandle<W> {
    /// Waits for the execution to end and returns its outcome.
    ///
    /// # Errors
    ///
    /// How the execution ended if it did not succeed
    /// ([`ExecutionError::Failed`], [`ExecutionError::TimedOut`],
    /// [`ExecutionError::Aborted`], [`ExecutionError::Crashed`]), or why its
    /// outcome cannot be known here: the engine stopped
    /// ([`ExecutionError::ShuttingDown`], [`ExecutionError::Halted`]), or
    /// the store failed ([`ExecutionError::Store`]).
    pub async fn outcome(self) -> Result<W::Output, ExecutionError> {
        self.engine
            .finished(&self.id, W::definition().timeout)
            .await?;
        let stored = self
            .engine
            .store()
            .execution(&self.id)
            .await
            .map_err(ExecutionError::Store)?
            .ok_or_else(|| ExecutionError::Store(StoreError::NotFound(self.id.clone())))?;
        let output = stored.checkpoint.output.unwrap_or_default();
        (self.output)(&output).map_err(|e| {
            ExecutionError::Store(StoreError::Corrupt {
                execution: self.id.clone(),
                what: "output",
                detail: e.to_string(),
            })
        })
    }
}

impl<W: Workflow> IntoFuture for ExecutionHandle<W> {
    type Output = Result<W::Output, ExecutionError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.outcome())
    }
}
