//! Group commit: the transitions of many executions in one statement
//! (queued and gathered by `batches.rs`).
//!
//! A batch changes each execution it names only if that execution's guard
//! holds (the fence, still running, the history's end where the writer
//! thought it was), exactly as a single commit would; the rows it changed
//! come back, and every other transition is told why it was refused, one
//! by one.

use std::collections::HashSet;

use workflow_runtime::Status;
use workflow_runtime::store::{StoreError, Transition};

use crate::Shared;
use crate::batches::Batched;
use tokio_postgres::types::ToSql;

use crate::rows::{CheckpointColumns, EventColumns, big, database, nanos};

impl Batched for Transition {
    type Output = ();

    /// One statement updates a row once.
    fn key(&self) -> &str {
        &self.execution
    }

    async fn write(shared: &Shared, batch: &[&Self]) -> Result<HashSet<String>, StoreError> {
        shared.commit_batch(batch).await
    }

    /// Done if the batch changed the execution; else why it was refused (or
    /// that the transition had landed and only its reply was lost).
    async fn outcome(&self, shared: &Shared, written: &HashSet<String>) -> Result<(), StoreError> {
        shared
            .written(
                written.contains(&self.execution),
                &self.execution,
                self.fence,
                &self.events,
                Some(&self.checkpoint),
            )
            .await
    }
}

impl Shared {
    /// One statement for the batch: the executions whose guard held, with
    /// their checkpoints and events written.
    async fn commit_batch(
        &self,
        transitions: &[&Transition],
    ) -> Result<HashSet<String>, StoreError> {
        let columns = BatchColumns::of(transitions);
        let events = &columns.events;
        let running = Status::Running.name();
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &columns.ids,
            &columns.fences,
            &columns.follows,
            &columns.stopped_at,
            &columns.last_event_ids,
        ];
        params.extend(columns.checkpoints.params());
        params.extend::<[&(dyn ToSql + Sync); 8]>([
            &events.executions,
            &events.ids,
            &events.previous_ids,
            &events.ats,
            &events.kinds,
            &events.states,
            &events.data,
            &running,
        ]);
        params.push(&columns.checkpoints.callbacks);
        let rows = self.query(&self.sql.commit, &params).await?;
        rows.iter()
            .map(|row| row.try_get::<_, String>(0).map_err(database))
            .collect()
    }
}

/// A batch as the statement takes it: a column per field, one entry per
/// transition, and the events of all of them, each naming its execution.
#[derive(Default)]
struct BatchColumns<'a> {
    ids: Vec<&'a str>,
    fences: Vec<i64>,
    follows: Vec<Option<i64>>,
    stopped_at: Vec<Option<i64>>,
    last_event_ids: Vec<Option<i64>>,
    checkpoints: CheckpointColumns<'a>,
    events: EventColumns<'a>,
}

impl<'a> BatchColumns<'a> {
    fn of(transitions: &[&'a Transition]) -> Self {
        let mut columns = BatchColumns::default();
        for transition in transitions {
            let events = &transition.events;
            columns.ids.push(&transition.execution);
            columns.fences.push(big(transition.fence));
            columns
                .follows
                .push(events.first().map(|e| big(e.previous_event_id)));
            columns.stopped_at.push(transition.stopped_at.map(nanos));
            columns
                .last_event_ids
                .push(events.last().map(|e| big(e.id)));
            columns.checkpoints.push(&transition.checkpoint);
            columns.events.push(&transition.execution, events);
        }
        columns
    }
}
