//! A started execution, as its starter holds it.

use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::lock;
use super::record::{Description, Record};
use crate::error::ExecutionError;
use crate::workflow::Workflow;

/// A started execution: its id, its description, cancellation, and its
/// typed outcome (`handle.await` or [`outcome`](Self::outcome)).
pub struct ExecutionHandle<W: Workflow> {
    id: String,
    record: Arc<Mutex<Record>>,
    cancel: watch::Sender<bool>,
    join: JoinHandle<Result<W::Output, ExecutionError>>,
    _workflow: PhantomData<fn() -> W>,
}

impl<W: Workflow> ExecutionHandle<W> {
    pub(crate) fn new(
        id: String,
        record: Arc<Mutex<Record>>,
        cancel: watch::Sender<bool>,
        join: JoinHandle<Result<W::Output, ExecutionError>>,
    ) -> Self {
        ExecutionHandle {
            id,
            record,
            cancel,
            join,
            _workflow: PhantomData,
        }
    }

    /// The execution's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the execution stands now.
    pub fn describe(&self) -> Description {
        lock(&self.record).describe()
    }

    /// Cancels the execution: whatever it is running is dropped, its history
    /// ends with `ExecutionAborted`, and its outcome is
    /// [`ExecutionError::Aborted`]. Cancelling an ended execution does nothing.
    pub fn cancel(&self) {
        self.cancel.send_replace(true);
    }

    /// Waits for the execution to end and returns its outcome.
    pub async fn outcome(self) -> Result<W::Output, ExecutionError> {
        match self.join.await {
            Ok(outcome) => outcome,
            Err(e) => Err(ExecutionError::Crashed {
                message: e.to_string(),
            }),
        }
    }
}

impl<W: Workflow> IntoFuture for ExecutionHandle<W> {
    type Output = Result<W::Output, ExecutionError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.outcome())
    }
}
