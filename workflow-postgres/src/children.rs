//! Finished Parallel branches and Map iterations in PostgreSQL: one
//! statement writes children with their events, one reads an entry's.

use workflow_runtime::Status;
use workflow_runtime::store::{ChildTransition, FinishedChild, StoreError};

use crate::Shared;
use crate::rows::{EventColumns, big, count, database};

impl Shared {
    /// Writes finished children and their events, if the fence is current,
    /// the execution running and the events follow its history.
    pub(crate) async fn commit_children(
        &self,
        transition: &ChildTransition,
    ) -> Result<(), StoreError> {
        let id = &transition.execution;
        let columns = EventColumns::checked(id, &transition.events)?;
        let children = &transition.children;
        let entries: Vec<i64> = children.iter().map(|c| big(c.entry)).collect();
        let attempts: Vec<i64> = children.iter().map(|c| i64::from(c.attempt)).collect();
        let indexes: Vec<i64> = children.iter().map(|c| big(c.index)).collect();
        let outputs: Vec<&str> = children.iter().map(|c| c.output.as_str()).collect();
        let row = self
            .query_one(
                &self.sql.commit_children,
                &[
                    id,
                    &big(transition.fence),
                    &columns.follows,
                    &columns.ids.last(),
                    &columns.ids,
                    &columns.previous_ids,
                    &columns.ats,
                    &columns.kinds,
                    &columns.states,
                    &columns.data,
                    &Status::Running.name(),
                    &entries,
                    &attempts,
                    &indexes,
                    &outputs,
                ],
            )
            .await?;
        let updated: i64 = row.try_get(0).map_err(database)?;
        self.written(updated == 1, id, transition.fence, &transition.events, None)
            .await
    }

    /// The children finished in one attempt of one state entry, by index.
    pub(crate) async fn children(
        &self,
        id: &str,
        entry: u64,
        attempt: u32,
    ) -> Result<Vec<FinishedChild>, StoreError> {
        let rows = self
            .query(&self.sql.children, &[&id, &big(entry), &i64::from(attempt)])
            .await?;
        rows.iter()
            .map(|row| {
                Ok(FinishedChild {
                    entry,
                    attempt,
                    index: count(row.try_get(0).map_err(database)?),
                    output: row.try_get(1).map_err(database)?,
                })
            })
            .collect()
    }
}
