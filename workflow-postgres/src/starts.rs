//! Group starts: many executions created in one statement (queued and
//! gathered by `batches.rs`), idempotent by name as one start is.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::SystemTime;

use tokio_postgres::types::ToSql;
use workflow_runtime::store::{Created, NewExecution, StoreError};

use crate::Shared;
use crate::batches::{Batched, Queued};
use crate::rows::{CheckpointColumns, database, execution, nanos};

/// One execution to create, and the lease its creator takes on it.
#[derive(Debug)]
pub(crate) struct Start {
    pub(crate) new: NewExecution,
    pub(crate) owner: String,
    pub(crate) lease_until: SystemTime,
}

impl Batched for Start {
    type Output = Created;

    /// One statement cannot both create a name and find it taken by itself.
    fn key(&self) -> &str {
        &self.new.name
    }

    async fn write(shared: Arc<Shared>, batch: Vec<Queued<Self>>) {
        shared.write_starts(batch).await;
    }
}

impl Shared {
    /// Writes a batch of starts and answers each.
    async fn write_starts(&self, batch: Vec<Queued<Start>>) {
        let starts: Vec<&Start> = batch.iter().map(|q| &*q.item).collect();
        match self.create_batch(&starts).await {
            Ok(created) => {
                for queued in batch {
                    let outcome = self.created(&queued.item.new, &created).await;
                    queued.answer(outcome);
                }
            }
            Err(error) if batch.len() == 1 || matches!(error, StoreError::Unavailable(_)) => {
                for queued in batch {
                    queued.answer(Err(error.clone()));
                }
            }
            Err(error) => {
                tracing::warn!(%error, size = batch.len(), "a group of starts failed; writing them one by one");
                for queued in batch {
                    let outcome = match self.create_batch(&[&queued.item]).await {
                        Ok(created) => self.created(&queued.item.new, &created).await,
                        Err(error) => Err(error),
                    };
                    queued.answer(outcome);
                }
            }
        }
    }

    /// A start's outcome, given the executions its batch created: new, or
    /// the execution that has its name.
    async fn created(
        &self,
        new: &NewExecution,
        created: &HashSet<String>,
    ) -> Result<Created, StoreError> {
        if created.contains(&new.id) {
            return Ok(Created::New { fence: 1 });
        }
        let row = self
            .query_opt(&self.sql.by_name, &[&new.name])
            .await?
            // The name's row was there a moment ago: only a purge in
            // between removes it, and then a retry creates it.
            .ok_or_else(|| {
                StoreError::Database(format!(
                    "execution `{}` disappeared while it was being started",
                    new.name
                ))
            })?;
        Ok(Created::Existing(Box::new(execution(&row)?)))
    }

    /// One statement for the batch: the ids of the executions it created.
    async fn create_batch(&self, starts: &[&Start]) -> Result<HashSet<String>, StoreError> {
        let mut columns = StartColumns::default();
        for start in starts {
            columns.push(start);
        }
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![
            &columns.ids,
            &columns.names,
            &columns.workflows,
            &columns.versions,
            &columns.inputs,
            &columns.started_at,
            &columns.owners,
            &columns.lease_until,
            &columns.secrets,
            &columns.paths,
        ];
        params.extend(columns.checkpoints.params());
        params.push(&self.channel);
        let rows = self.query(&self.sql.create, &params).await?;
        rows.iter()
            .map(|row| row.try_get::<_, String>(0).map_err(database))
            .collect()
    }
}

/// A batch of starts as the statement takes it: a column per field, one
/// entry per start.
#[derive(Default)]
struct StartColumns<'a> {
    ids: Vec<&'a str>,
    names: Vec<&'a str>,
    workflows: Vec<&'a str>,
    versions: Vec<&'a str>,
    inputs: Vec<&'a str>,
    started_at: Vec<i64>,
    owners: Vec<&'a str>,
    lease_until: Vec<i64>,
    secrets: Vec<&'a str>,
    paths: Vec<Option<&'a str>>,
    checkpoints: CheckpointColumns<'a>,
}

impl<'a> StartColumns<'a> {
    fn push(&mut self, start: &'a Start) {
        let new = &start.new;
        self.ids.push(&new.id);
        self.names.push(&new.name);
        self.workflows.push(&new.workflow);
        self.versions.push(&new.version);
        self.inputs.push(&new.input);
        self.started_at.push(nanos(new.started_at));
        self.owners.push(&start.owner);
        self.lease_until.push(nanos(start.lease_until));
        self.secrets.push(&new.callback_secret);
        self.paths.push(new.path.as_deref());
        self.checkpoints.push(&new.checkpoint);
    }
}
