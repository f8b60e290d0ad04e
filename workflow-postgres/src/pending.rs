//! Callback tasks that wait, on PostgreSQL: recorded once per key, listed
//! in sequence order while they still wait.

use workflow_runtime::store::{AwaitedCallback, PendingQuery, PendingRow, StoreError};

use crate::Shared;
use crate::rows::{big, count, database, nanos, time};

impl Shared {
    /// Records a waiting task, unless its key is recorded.
    pub(crate) async fn await_callback(&self, awaited: &AwaitedCallback) -> Result<(), StoreError> {
        self.execute(
            &self.sql.await_callback,
            &[
                &awaited.key,
                &awaited.token,
                &awaited.execution,
                &awaited.anchor_state,
                &big(awaited.anchor_entry),
                &awaited.state,
                &nanos(awaited.since),
                &awaited.message,
            ],
        )
        .await?;
        Ok(())
    }

    /// The pending callbacks `query` asks for.
    pub(crate) async fn pending_callbacks(
        &self,
        query: &PendingQuery,
    ) -> Result<Vec<PendingRow>, StoreError> {
        let rows = self
            .query(
                &self.sql.pending_callbacks,
                &[
                    &big(query.after),
                    &query.execution,
                    &query.workflow,
                    &i64::try_from(query.limit).unwrap_or(i64::MAX),
                ],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(PendingRow {
                    seq: count(row.try_get(0).map_err(database)?),
                    token: row.try_get(1).map_err(database)?,
                    execution: row.try_get(2).map_err(database)?,
                    name: row.try_get(3).map_err(database)?,
                    workflow: row.try_get(4).map_err(database)?,
                    state: row.try_get(5).map_err(database)?,
                    since: time(row.try_get(6).map_err(database)?),
                    message: row.try_get(7).map_err(database)?,
                })
            })
            .collect()
    }
}
