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
    _workflow: PhantomData<fn() -> W>,
}

impl<W: Workflow> ExecutionHandle<W> {
    pub(crate) fn new(id: String, engine: Engine<W::Context>, created: bool) -> Self {
        ExecutionHandle {
            id,
            engine,
            created,
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
    pub async fn describe(&self) -> Result<Option<Description>, EngineError> {
        self.engine.describe(&self.id).await
    }

    /// Cancels the execution: whatever it is running is dropped (or, if it
    /// is parked on a timer, it is ended in the store), its history ends
    /// with `ExecutionAborted`, and its outcome is
    /// [`ExecutionError::Aborted`]. Cancelling an ended execution does
    /// nothing.
    pub async fn cancel(&self) -> Result<(), EngineError> {
        self.engine.cancel(&self.id).await
    }
}

impl<W: Workflow> ExecutionHandle<W>
where
    W::Output: DeserializeOwned,
{
    /// Waits for the execution to end and returns its outcome.
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
        serde_json::from_str(&output).map_err(|e| {
            ExecutionError::Store(StoreError::Corrupt {
                execution: self.id.clone(),
                what: "output",
                detail: e.to_string(),
            })
        })
    }
}

impl<W: Workflow> IntoFuture for ExecutionHandle<W>
where
    W::Output: DeserializeOwned,
{
    type Output = Result<W::Output, ExecutionError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.outcome())
    }
}
