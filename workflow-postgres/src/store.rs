//! The [`Store`] contract on PostgreSQL: one statement per operation where
//! one can do it, so a transition is one round trip.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use workflow_runtime::store::{
    AwaitedCallback, CallbackResult, Checkpoint, ChildTransition, Claim, Claimed, Created, Filter,
    FinishedChild, NewExecution, PendingQuery, PendingRow, Store, StoreError, StoreFuture,
    StoredDefinition, StoredExecution, Transition, check_events,
};
use workflow_runtime::{Event, EventKind, Status};

use crate::rows::{big, count, database, execution, follow_one_another, nanos, scan, time};
use crate::starts::Start;
use crate::{PostgresStore, Shared};

/// Runs an operation (an expression giving a future, made again for each
/// try), again while the database is unavailable (it restarts, the network
/// drops), with backoff, for up to the store's retry period: a worker
/// carries on when the database is back.
macro_rules! retrying {
    ($shared:expr, $operation:expr) => {{
        let deadline = tokio::time::Instant::now() + $shared.retry_for;
        let mut backoff = Duration::from_millis(50);
        loop {
            match $operation.await {
                Err(StoreError::Unavailable(error)) if tokio::time::Instant::now() < deadline => {
                    tracing::warn!(%error, ?backoff, "the database is unavailable; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
                other => break other,
            }
        }
    }};
}

impl Shared {
    /// A pooled connection and one of the store's statements, prepared on
    /// it (once per connection: the pool caches it).
    pub(crate) async fn prepared(
        &self,
        sql: &str,
    ) -> Result<(deadpool_postgres::Object, tokio_postgres::Statement), StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(database)?;
        Ok((client, statement))
    }

    /// Runs one of the store's statements on a pooled connection.
    pub(crate) async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        client.query(&statement, params).await.map_err(database)
    }

    /// [`query`](Shared::query) for exactly one row.
    pub(crate) async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        client.query_one(&statement, params).await.map_err(database)
    }

    /// [`query`](Shared::query) for at most one row.
    pub(crate) async fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        client.query_opt(&statement, params).await.map_err(database)
    }

    /// [`query`](Shared::query) for the number of rows changed.
    pub(crate) async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let (client, statement) = self.prepared(sql).await?;
        client.execute(&statement, params).await.map_err(database)
    }

    /// The execution with this id.
    async fn load(&self, id: &str) -> Result<Option<StoredExecution>, StoreError> {
        match self.query_opt(&self.sql.by_id, &[&id]).await? {
            Some(row) => execution(&row).map(Some),
            None => Ok(None),
        }
    }

    /// The completion stored for a callback token, if any.
    async fn callback(&self, token: &str) -> Result<Option<CallbackResult>, StoreError> {
        let Some(row) = self.query_opt(&self.sql.callback, &[&token]).await? else {
            return Ok(None);
        };
        let succeeded: bool = row.try_get(0).map_err(database)?;
        let text = |index| row.try_get::<_, Option<String>>(index).map_err(database);
        Ok(Some(if succeeded {
            CallbackResult::Succeeded(text(1)?.unwrap_or_default())
        } else {
            CallbackResult::Failed {
                error: text(2)?.unwrap_or_default(),
                cause: text(3)?.unwrap_or_default(),
            }
        }))
    }

    /// The outcome of a write guarded by `fence` that recorded `events`
    /// (and, for a commit, its `checkpoint`), given whether its statement
    /// `updated` the execution: done, or why it was refused.
    ///
    /// A refused write may be the retry of one that landed and only lost
    /// its reply: then the execution is as the write left it, under the
    /// same fence, and that is no error. The checkpoint (or, for a write of
    /// children, that the execution still runs) tells that apart
    /// from another write under the fence that happens to end the history
    /// at the same event id (a cancel from another process racing the
    /// owner's step).
    pub(crate) async fn written(
        &self,
        updated: bool,
        id: &str,
        fence: u64,
        events: &[Event],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<(), StoreError> {
        if updated {
            return Ok(());
        }
        match self.load(id).await {
            Ok(Some(stored))
                if stored.fence == fence
                    && events.last().is_some_and(|e| e.id == stored.last_event_id)
                    && checkpoint.map_or(stored.checkpoint.status == Status::Running, |c| {
                        *c == stored.checkpoint
                    }) =>
            {
                Ok(())
            }
            other => Err(Self::why(id, fence, events, other)),
        }
    }

    /// The error for a write of `events` that changed nothing, given the
    /// row as it is.
    fn why(
        id: &str,
        fence: u64,
        events: &[Event],
        row: Result<Option<StoredExecution>, StoreError>,
    ) -> StoreError {
        match row {
            Ok(None) => StoreError::NotFound(id.to_owned()),
            Ok(Some(stored)) if stored.fence != fence => StoreError::Fenced {
                execution: id.to_owned(),
                held: fence,
            },
            Ok(Some(stored)) if stored.checkpoint.status != Status::Running => {
                StoreError::Ended(id.to_owned())
            }
            // Under this fence, running: the events follow an earlier end
            // of the history than its present one.
            Ok(Some(stored)) => match check_events(id, stored.last_event_id, events) {
                Err(error) => error,
                Ok(()) => StoreError::Corrupt {
                    execution: id.to_owned(),
                    what: "history",
                    detail: format!(
                        "a write that follows event {} was refused",
                        stored.last_event_id
                    ),
                },
            },
            Err(error) => error,
        }
    }
}

impl Store for PostgresStore {
    fn create(
        &self,
        new: NewExecution,
        owner: &str,
        lease_until: SystemTime,
    ) -> StoreFuture<'_, Created> {
        let shared = Arc::clone(&self.shared);
        let starts = Arc::clone(&self.starts);
        let start = Arc::new(Start {
            new,
            owner: owner.to_owned(),
            lease_until,
        });
        self.io
            .run(async move { retrying!(shared, starts.write(Arc::clone(&start))) })
    }

    fn commit(&self, transition: Transition) -> StoreFuture<'_, ()> {
        let shared = Arc::clone(&self.shared);
        let commits = Arc::clone(&self.commits);
        self.io.run(async move {
            follow_one_another(&transition.execution, &transition.events)?;
            let transition = Arc::new(transition);
            retrying!(shared, commits.write(Arc::clone(&transition)))
        })
    }

    fn commit_children(&self, transition: ChildTransition) -> StoreFuture<'_, ()> {
        let shared = Arc::clone(&self.shared);
        self.io
            .run(async move { retrying!(shared, shared.commit_children(&transition)) })
    }

    fn children(&self, id: &str, entry: u64, attempt: u32) -> StoreFuture<'_, Vec<FinishedChild>> {
        let shared = Arc::clone(&self.shared);
        let id = id.to_owned();
        self.io
            .run(async move { retrying!(shared, shared.children(&id, entry, attempt)) })
    }

    fn claim(&self, claim: Claim) -> StoreFuture<'_, Claimed> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
                // A corrupt row stays claimed until its lease expires, like
                // an execution recovery cannot resume, and is reported.
                let rows = shared
                    .query(
                        &shared.sql.claim,
                        &[
                            &claim.owner,
                            &nanos(claim.lease_until),
                            &nanos(claim.due_by),
                            &nanos(claim.leases_expired_by),
                            &limit,
                        ],
                    )
                    .await?;
                scan(&rows)
            })
        })
    }

    fn release(&self, execution: &str, fence: u64) -> StoreFuture<'_, ()> {
        let shared = Arc::clone(&self.shared);
        let id = execution.to_owned();
        self.io.run(async move {
            retrying!(shared, async {
                let released = shared
                    .execute(
                        &shared.sql.release,
                        &[&id, &big(fence), &shared.channel, &Status::Running.name()],
                    )
                    .await?;
                if released == 1 {
                    return Ok(());
                }
                match shared.load(&id).await {
                    // Released by an earlier try whose reply was lost: done.
                    Ok(Some(stored))
                        if stored.fence == fence && stored.checkpoint.status == Status::Running =>
                    {
                        Ok(())
                    }
                    other => Err(Shared::why(&id, fence, &[], other)),
                }
            })
        })
    }

    fn renew_leases(
        &self,
        held: Vec<(String, u64)>,
        lease_until: SystemTime,
    ) -> StoreFuture<'_, Vec<String>> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                let (ids, fences): (Vec<&String>, Vec<i64>) =
                    held.iter().map(|(id, fence)| (id, big(*fence))).unzip();
                let rows = shared
                    .query(
                        &shared.sql.renew,
                        &[&nanos(lease_until), &ids, &fences, &Status::Running.name()],
                    )
                    .await?;
                let renewed = rows
                    .iter()
                    .map(|row| row.try_get::<_, String>(0))
                    .collect::<Result<std::collections::HashSet<String>, _>>()
                    .map_err(database)?;
                Ok(ids
                    .into_iter()
                    .filter(|&id| !renewed.contains(id))
                    .cloned()
                    .collect())
            })
        })
    }

    fn next_wake(&self, leases_expired_by: SystemTime) -> StoreFuture<'_, Option<SystemTime>> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                let row = shared
                    .query_one(&shared.sql.next_wake, &[&nanos(leases_expired_by)])
                    .await?;
                let next: Option<i64> = row.try_get(0).map_err(database)?;
                Ok(next.map(time))
            })
        })
    }

    fn execution_named(&self, name: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        let shared = Arc::clone(&self.shared);
        let name = name.to_owned();
        self.io.run(async move {
            retrying!(shared, async {
                match shared.query_opt(&shared.sql.by_name, &[&name]).await? {
                    Some(row) => execution(&row).map(Some),
                    None => Ok(None),
                }
            })
        })
    }

    fn execution(&self, id: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        let shared = Arc::clone(&self.shared);
        let id = id.to_owned();
        self.io
            .run(async move { retrying!(shared, shared.load(&id)) })
    }

    fn history(&self, id: &str) -> StoreFuture<'_, Vec<Event>> {
        let shared = Arc::clone(&self.shared);
        let id = id.to_owned();
        self.io.run(async move {
            retrying!(shared, async {
                let rows = { shared.query(&shared.sql.history, &[&id]).await? };
                if rows.is_empty() && shared.load(&id).await?.is_none() {
                    return Err(StoreError::NotFound(id.clone()));
                }
                rows.iter()
                    .map(|row| {
                        let corrupt = |detail: String| StoreError::Corrupt {
                            execution: id.clone(),
                            what: "history",
                            detail,
                        };
                        let column = |e: tokio_postgres::Error| corrupt(e.to_string());
                        let kind: String = row.try_get(3).map_err(column)?;
                        let kind = EventKind::from_name(&kind)
                            .ok_or_else(|| corrupt(format!("unknown event `{kind}`")))?;
                        Ok(Event {
                            id: count(row.try_get(0).map_err(column)?),
                            previous_event_id: count(row.try_get(1).map_err(column)?),
                            timestamp: time(row.try_get(2).map_err(column)?),
                            kind,
                            state: row
                                .try_get::<_, Option<String>>(4)
                                .map_err(column)?
                                .map(Cow::Owned),
                            data: row.try_get(5).map_err(column)?,
                        })
                    })
                    .collect()
            })
        })
    }

    fn list(&self, filter: Filter) -> StoreFuture<'_, Vec<StoredExecution>> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                let status = filter.status.map(Status::name);
                let rows = shared
                    .query(&shared.sql.list, &[&filter.workflow, &status])
                    .await?;
                Ok(scan(&rows)?.executions)
            })
        })
    }

    fn purge(&self, ended_before: SystemTime, limit: usize) -> StoreFuture<'_, u64> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let row = shared
                    .query_one(&shared.sql.purge, &[&nanos(ended_before), &limit])
                    .await?;
                let purged: i64 = row.try_get(0).map_err(database)?;
                Ok(count(purged))
            })
        })
    }

    fn complete_callback(
        &self,
        key: &str,
        result: CallbackResult,
    ) -> StoreFuture<'_, CallbackResult> {
        let shared = Arc::clone(&self.shared);
        let token = key.to_owned();
        self.io.run(async move {
            retrying!(shared, async {
                let (succeeded, output, error, cause) = match &result {
                    CallbackResult::Succeeded(output) => (true, Some(output), None, None),
                    CallbackResult::Failed { error, cause } => {
                        (false, None, Some(error), Some(cause))
                    }
                };
                let inserted = {
                    shared
                        .execute(
                            &shared.sql.complete_callback,
                            &[&token, &succeeded, &output, &error, &cause, &shared.channel],
                        )
                        .await?
                };
                if inserted == 1 {
                    return Ok(result.clone());
                }
                // An earlier answer stands (committed: ON CONFLICT waited for it).
                shared.callback(&token).await?.ok_or_else(|| {
                    StoreError::Database(format!(
                        "callback `{token}` vanished while it was answered"
                    ))
                })
            })
        })
    }

    fn wake_callback(
        &self,
        execution: &str,
        state: &str,
        entry: u64,
        wake_at: SystemTime,
    ) -> StoreFuture<'_, bool> {
        let shared = Arc::clone(&self.shared);
        let (id, state) = (execution.to_owned(), state.to_owned());
        self.io.run(async move {
            retrying!(shared, async {
                let params: [&(dyn ToSql + Sync); 6] = [
                    &id,
                    &state,
                    &big(entry),
                    &nanos(wake_at),
                    &shared.channel,
                    &Status::Running.name(),
                ];
                let woken = shared.query(&shared.sql.wake_callback, &params).await?;
                Ok(!woken.is_empty())
            })
        })
    }

    fn callback(&self, key: &str) -> StoreFuture<'_, Option<CallbackResult>> {
        let shared = Arc::clone(&self.shared);
        let key = key.to_owned();
        self.io
            .run(async move { retrying!(shared, shared.callback(&key)) })
    }

    fn await_callback(&self, awaited: AwaitedCallback) -> StoreFuture<'_, ()> {
        let shared = Arc::clone(&self.shared);
        self.io
            .run(async move { retrying!(shared, shared.await_callback(&awaited)) })
    }

    fn pending_callbacks(&self, query: PendingQuery) -> StoreFuture<'_, Vec<PendingRow>> {
        let shared = Arc::clone(&self.shared);
        self.io
            .run(async move { retrying!(shared, shared.pending_callbacks(&query)) })
    }

    fn save_definition(&self, definition: StoredDefinition) -> StoreFuture<'_, ()> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                shared
                    .execute(
                        &shared.sql.save_definition,
                        &[
                            &definition.workflow,
                            &definition.version,
                            &definition.definition,
                        ],
                    )
                    .await?;
                Ok(())
            })
        })
    }

    fn definitions(&self) -> StoreFuture<'_, Vec<StoredDefinition>> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                let rows = shared.query(&shared.sql.definitions, &[]).await?;
                rows.iter()
                    .map(|row| {
                        Ok(StoredDefinition {
                            workflow: row.try_get(0).map_err(database)?,
                            version: row.try_get(1).map_err(database)?,
                            definition: row.try_get(2).map_err(database)?,
                        })
                    })
                    .collect()
            })
        })
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn wake_up(&self) -> Option<StoreFuture<'_, ()>> {
        let woken = Arc::clone(&self.shared.woken);
        Some(Box::pin(async move {
            woken.notified().await;
            Ok(())
        }))
    }
}
