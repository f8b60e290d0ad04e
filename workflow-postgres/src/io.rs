//! Where the store's database work runs: on the caller's runtime, or on a
//! thread of its own that the caller waits for.

use std::future::Future;
use std::sync::mpsc;

use tokio::sync::oneshot;
use workflow_runtime::store::{StoreError, StoreFuture};

/// How operations reach the database.
#[derive(Debug)]
pub(crate) enum Io {
    /// On the runtime the store is used from: the production setting.
    Caller,
    /// On the store's own thread and runtime, the caller's thread blocked
    /// until it is done. For tests on tokio's paused clock: there an
    /// `await` on the network leaves the runtime idle, and an idle paused
    /// runtime jumps its clock to the next timer, so timings go wrong.
    Blocking(Thread),
}

/// The store's own thread: a runtime that lives until the store is dropped.
#[derive(Debug)]
pub(crate) struct Thread {
    handle: tokio::runtime::Handle,
    /// Dropped with the store, which ends the thread: a runtime cannot be
    /// dropped inside another, so the thread drops its own.
    _stop: oneshot::Sender<()>,
}

impl Thread {
    /// Starts the thread.
    pub(crate) fn start() -> Result<Thread, StoreError> {
        let unavailable = |e: std::io::Error| {
            StoreError::Database(format!("cannot start the store's thread: {e}"))
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(unavailable)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("workflow-postgres".into())
            .spawn(move || {
                // Drives every task spawned on the handle until the store goes.
                let _ = runtime.block_on(stopped);
            })
            .map_err(unavailable)?;
        Ok(Thread {
            handle,
            _stop: stop,
        })
    }

    /// Runs `work` on the thread and waits for it, blocking the caller.
    pub(crate) fn block_on<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.handle.spawn(async move {
            let _ = tx.send(work.await);
        });
        rx.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Spawns a task on the thread's runtime.
    pub(crate) fn spawn(
        &self,
        task: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::AbortHandle {
        self.handle.spawn(task).abort_handle()
    }
}

impl Io {
    /// Runs one operation as this mode says.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = Result<T, StoreError>> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        match self {
            Io::Caller => Box::pin(work),
            Io::Blocking(thread) => Box::pin(std::future::ready(thread.block_on(work))),
        }
    }

    /// Spawns a background task (the wake-up listener) where the mode's
    /// work runs.
    pub(crate) fn spawn(
        &self,
        task: impl Future<Output = ()> + Send + 'static,
    ) -> Result<tokio::task::AbortHandle, StoreError> {
        match self {
            Io::Caller => match tokio::runtime::Handle::try_current() {
                Ok(runtime) => Ok(runtime.spawn(task).abort_handle()),
                Err(_) => Err(StoreError::Config(
                    "the PostgreSQL store connects on a tokio runtime, and none is running here"
                        .into(),
                )),
            },
            Io::Blocking(thread) => Ok(thread.spawn(task)),
        }
    }
}
