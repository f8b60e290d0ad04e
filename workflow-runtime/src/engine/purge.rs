//! Retention: deleting executions that ended long enough ago.

use super::*;

/// How many executions one call to the store deletes: one short
/// transaction each, so a purge of millions never holds the store long.
const BATCH: usize = 1_000;

impl<C: Send + Sync + 'static> Engine<C> {
    /// Deletes every execution that ended more than `older_than` ago, on
    /// the engine's clock, with its history and callback answers, and
    /// returns how many it deleted. Running executions stay, however long
    /// they have run.
    ///
    /// The store deletes them in batches of 1,000, each its own
    /// transaction, until a batch comes back short; executions that end
    /// while it runs may or may not be deleted. A deleted execution is
    /// gone: [`describe`](Engine::describe) gives `None`, its
    /// [`history`](Engine::history) and a handle's outcome fail with
    /// [`StoreError::NotFound`], and its name is free, so a start under it
    /// starts a new execution.
    ///
    /// # Errors
    ///
    /// [`EngineError::Store`] when the store fails; the batches deleted
    /// before the failure stay deleted, and calling again goes on where it
    /// stopped.
    pub async fn purge(&self, older_than: Duration) -> Result<u64, EngineError> {
        // Nothing ended before the clock's epoch.
        let Some(cut) = self.shared.clock.now().checked_sub(older_than) else {
            return Ok(0);
        };
        let mut purged = 0;
        loop {
            let batch = self.shared.store.purge(cut, BATCH).await?;
            purged += batch;
            if batch < BATCH as u64 {
                return Ok(purged);
            }
        }
    }
}
