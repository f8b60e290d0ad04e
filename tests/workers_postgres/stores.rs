//! Stores that stand between a test's engines and PostgreSQL: a network
//! partition, and a client whose read of an execution races a worker.

use super::*;

/// A store whose claims and lease renewals fail while `cut` is set (a
/// partition between the worker and the database, while its one running
/// step has no write to make), and that counts the commits it refused as
/// fenced.
pub(super) struct Partitioned {
    pub(super) inner: PostgresStore,
    pub(super) cut: Arc<AtomicBool>,
    /// Whether claims fail too, or only renewals.
    pub(super) claims_too: bool,
    pub(super) fenced: Arc<AtomicUsize>,
}

impl Store for Partitioned {
    fn commit(&self, t: Transition) -> StoreFuture<'_, ()> {
        let written = self.inner.commit(t);
        let fenced = Arc::clone(&self.fenced);
        Box::pin(async move {
            let result = written.await;
            if let Err(StoreError::Fenced { .. }) = result {
                fenced.fetch_add(1, Ordering::SeqCst);
            }
            result
        })
    }
    fn claim(&self, c: Claim) -> StoreFuture<'_, Claimed> {
        if self.claims_too && self.cut.load(Ordering::SeqCst) {
            return Box::pin(async { Err(StoreError::Unavailable("partitioned".into())) });
        }
        self.inner.claim(c)
    }
    fn renew_leases(
        &self,
        held: Vec<(String, u64)>,
        until: SystemTime,
    ) -> StoreFuture<'_, Vec<String>> {
        if self.cut.load(Ordering::SeqCst) {
            return Box::pin(async { Err(StoreError::Unavailable("partitioned".into())) });
        }
        self.inner.renew_leases(held, until)
    }
    // Everything else goes to the store inside.
    forward_store!(inner:
        create, commit_children, children, release, next_wake, execution_named,
        execution, history, list, purge, complete_callback,
        wake_callback, callback, await_callback,
        pending_callbacks, save_definition, definitions, wake_up, is_shared
    );
}

/// A client's store whose next read of an execution, once `armed`, lets
/// the worker's held step go and returns what it read before that step's
/// write: the client then acts on an execution that has moved on.
pub(super) struct Racing {
    pub(super) inner: PostgresStore,
    pub(super) lab: Shared,
    pub(super) armed: AtomicBool,
}

impl Store for Racing {
    fn execution(&self, id: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        let id = id.to_owned();
        Box::pin(async move {
            let read = self.inner.execution(&id).await?;
            if self.armed.swap(false, Ordering::SeqCst)
                && let Some(before) = &read
            {
                self.lab.gate.notify_waiters();
                for _ in 0..100 {
                    let now = self.inner.execution(&id).await?;
                    if now.is_some_and(|now| now.last_event_id > before.last_event_id) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            Ok(read)
        })
    }
    forward_store!(inner:
        create, commit, commit_children, children, claim, release, renew_leases, next_wake,
        execution_named, history, list, purge, complete_callback,
        wake_callback, callback, await_callback,
        pending_callbacks, save_definition, definitions, wake_up, is_shared
    );
}
