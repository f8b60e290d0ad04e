//! Group starts: many executions created in one statement (queued and
//! gathered by `batches.rs`), idempotent by name as one start is.

use std::collections::HashSet;
use std::time::SystemTime;

use tokio_postgres::types::ToSql;
use workflow_runtime::store::{Created, NewExecution, StoreError};

use crate::Shared;
use crate::batches::Batched;
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

    async fn write(shared: &Shared, batch: &[&Self]) -> Result<HashSet<String>, StoreError> {
        shared.create_batch(batch).await
    }

    /// New if the batch created it; else the execution that has its name.
    async fn outcome(
        &self,
        shared: &Shared,
        created: &HashSet<String>,
    ) -> Result<Created, StoreError> {
        if created.contains(&self.new.id) {
            return Ok(Created::New { fence: 1 });
        }
        let row = shared
            .query_opt(&shared.sql.by_name, &[&self.new.name])
            .await?
            // The name's row was there a moment ago: only a purge in
            // between removes it, and then a retry creates it.
            .ok_or_else(|| {
                StoreError::Database(format!(
                    "execution `{}` disappeared while it was being started",
                    self.new.name
                ))
            })?;
        Ok(Created::Existing(Box::new(execution(&row)?)))
    }
}

impl Shared {
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
        params.push(&columns.checkpoints.callbacks);
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
