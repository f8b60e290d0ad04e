//! The [`Store`] contract on PostgreSQL: one statement per operation where
//! one can do it, so a transition is one round trip.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use workflow_runtime::store::{
    CallbackResult, Claim, Created, Filter, NewExecution, Store, StoreError, StoreFuture,
    StoredDefinition, StoredExecution, Transition, check_events,
};
use workflow_runtime::{Event, EventKind, Status};

use crate::rows::{COLUMNS, big, count, database, execution, nanos, time};
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

/// The store's statements, with its schema spliced in once.
#[derive(Debug)]
pub(crate) struct Sql {
    create: String,
    by_name: String,
    by_id: String,
    commit: String,
    claim: String,
    release: String,
    renew: String,
    next_wake: String,
    history: String,
    list: String,
    purge: String,
    complete_callback: String,
    callback: String,
    save_definition: String,
    definitions: String,
}

impl Sql {
    pub(crate) fn new(s: &str) -> Sql {
        Sql {
            // Notifies only for an execution nobody holds (created by a
            // client, for any worker to take): a NOTIFY serializes commits
            // on the server, so writes that wake nobody do not send one.
            create: format!(
                "WITH inserted AS ( \
                     INSERT INTO {s}.executions (id, name, workflow, version, input, state, \
                         entry, attempt, retries, waiting, wake_at, status, output, error_name, \
                         error_cause, started_at, stopped_at, last_event_id, fence, lease_owner, \
                         lease_until, state_name) \
                     VALUES ($1, $2, $3, $4, $5::text::json, $6::text::json, $7, $8, $9, $10, \
                         $11, $12, $13::text::json, $14, $15, $16, NULL, 0, 1, $17, $18, $19) \
                     ON CONFLICT (name) DO NOTHING RETURNING lease_until, started_at) \
                 SELECT CASE WHEN lease_until <= started_at THEN pg_notify($20, 'start') END \
                 FROM inserted"
            ),
            by_name: format!("SELECT {COLUMNS} FROM {s}.executions WHERE name = $1"),
            by_id: format!("SELECT {COLUMNS} FROM {s}.executions WHERE id = $1"),
            // The checkpoint and its events in one statement: the events go
            // in only if the UPDATE found the fence and the history's end
            // where the writer thought they were.
            commit: format!(
                "WITH updated AS ( \
                     UPDATE {s}.executions SET state = $4::text::json, entry = $5, \
                         attempt = $6, retries = $7, waiting = $8, wake_at = $9, status = $10, \
                         output = $11::text::json, error_name = $12, error_cause = $13, \
                         stopped_at = COALESCE($14, stopped_at), \
                         last_event_id = COALESCE($15, last_event_id), \
                         state_name = $16 \
                     WHERE id = $1 AND fence = $2 AND status = 'Running' \
                         AND ($3::bigint IS NULL OR last_event_id = $3) RETURNING id), \
                 inserted AS ( \
                     INSERT INTO {s}.events (execution, id, previous_id, at, kind, state, data) \
                     SELECT $1, e.id, e.previous_id, e.at, e.kind, e.state, e.data::json \
                     FROM unnest($17::bigint[], $18::bigint[], $19::bigint[], $20::text[], \
                         $21::text[], $22::text[]) AS e(id, previous_id, at, kind, state, data) \
                     WHERE EXISTS (SELECT 1 FROM updated) \
                     RETURNING 1) \
                 SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM inserted)"
            ),
            // Due first: an execution without a timer counts as due at the
            // claim's time, so a burst of starts does not starve timers
            // that came due before it.
            claim: format!(
                "UPDATE {s}.executions SET fence = fence + 1, lease_owner = $1, \
                     lease_until = $2 \
                 WHERE id IN ( \
                     SELECT id FROM {s}.executions \
                     WHERE status = 'Running' AND (wake_at IS NULL OR wake_at <= $3) \
                         AND (lease_until IS NULL OR lease_until <= $4) \
                     ORDER BY COALESCE(wake_at, $3) \
                     LIMIT $5 \
                     FOR UPDATE SKIP LOCKED) \
                 RETURNING {COLUMNS}"
            ),
            release: format!(
                "WITH released AS ( \
                     UPDATE {s}.executions SET lease_owner = NULL, lease_until = NULL \
                     WHERE id = $1 AND fence = $2 AND status = 'Running' RETURNING id) \
                 SELECT pg_notify($3, 'park') FROM released"
            ),
            renew: format!(
                "UPDATE {s}.executions AS e SET lease_until = $1 \
                 FROM unnest($2::text[], $3::bigint[]) AS held(id, fence) \
                 WHERE e.id = held.id AND e.fence = held.fence AND e.status = 'Running' \
                     AND e.lease_until IS NOT NULL \
                 RETURNING e.id"
            ),
            next_wake: format!(
                "SELECT MIN(wake_at) FROM {s}.executions \
                 WHERE status = 'Running' AND (lease_until IS NULL OR lease_until <= $1)"
            ),
            history: format!(
                "SELECT id, previous_id, at, kind, state, data::text FROM {s}.events \
                 WHERE execution = $1 ORDER BY id"
            ),
            list: format!(
                "SELECT {COLUMNS} FROM {s}.executions \
                 WHERE ($1::text IS NULL OR workflow = $1) AND ($2::text IS NULL OR status = $2) \
                 ORDER BY seq"
            ),
            // One statement, so one transaction: the executions (ended, so
            // no commit writes them any more), then their events and their
            // callback answers (tokens whose part before the first `/` is
            // the id, as the engine reads them). SKIP LOCKED: purges run
            // by several workers at once take different executions instead
            // of waiting for each other. No ORDER BY: without an index on
            // the stop time, the scan stops at the limit found.
            purge: format!(
                "WITH purged AS ( \
                     DELETE FROM {s}.executions WHERE id IN ( \
                         SELECT id FROM {s}.executions \
                         WHERE status <> 'Running' AND stopped_at < $1 \
                         LIMIT $2 \
                         FOR UPDATE SKIP LOCKED) \
                     RETURNING id), \
                 events AS ( \
                     DELETE FROM {s}.events WHERE execution IN (SELECT id FROM purged)), \
                 callbacks AS ( \
                     DELETE FROM {s}.callbacks \
                     WHERE split_part(token, '/', 1) IN (SELECT id FROM purged)) \
                 SELECT count(*) FROM purged"
            ),
            complete_callback: format!(
                "WITH inserted AS ( \
                     INSERT INTO {s}.callbacks (token, succeeded, output, error, cause) \
                     VALUES ($1, $2, $3::text::json, $4, $5) \
                     ON CONFLICT (token) DO NOTHING RETURNING token) \
                 SELECT pg_notify($6, 'callback') FROM inserted"
            ),
            callback: format!(
                "SELECT succeeded, output::text, error, cause FROM {s}.callbacks \
                 WHERE token = $1"
            ),
            save_definition: format!(
                "INSERT INTO {s}.definitions (workflow, version, definition) \
                 VALUES ($1, $2, $3::text::json) ON CONFLICT (workflow, version) DO NOTHING"
            ),
            definitions: format!(
                "SELECT workflow, version, definition::text FROM {s}.definitions ORDER BY seq"
            ),
        }
    }
}

impl Shared {
    /// The execution with this id.
    async fn load(&self, id: &str) -> Result<Option<StoredExecution>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.sql.by_id)
            .await
            .map_err(database)?;
        match client
            .query_opt(&statement, &[&id])
            .await
            .map_err(database)?
        {
            Some(row) => execution(&row).map(Some),
            None => Ok(None),
        }
    }

    /// The completion stored for a callback token, if any.
    async fn callback(&self, token: &str) -> Result<Option<CallbackResult>, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.sql.callback)
            .await
            .map_err(database)?;
        let Some(row) = client
            .query_opt(&statement, &[&token])
            .await
            .map_err(database)?
        else {
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

    /// Why a write guarded by `fence` changed nothing. `landed` is the id
    /// of the last event a commit writes: if the history already ends
    /// there under this fence, an earlier try of the same commit landed
    /// and only its reply was lost, and that is no error.
    async fn refused(&self, id: &str, fence: u64, landed: Option<u64>) -> Result<(), StoreError> {
        match self.load(id).await {
            Ok(Some(stored))
                if stored.fence == fence && landed.is_some_and(|l| l == stored.last_event_id) =>
            {
                Ok(())
            }
            other => Err(Self::why(id, fence, other)),
        }
    }

    /// The error for a write that changed nothing, given the row as it is.
    fn why(id: &str, fence: u64, row: Result<Option<StoredExecution>, StoreError>) -> StoreError {
        match row {
            Ok(None) => StoreError::NotFound(id.to_owned()),
            Ok(Some(stored)) if stored.fence != fence => StoreError::Fenced {
                execution: id.to_owned(),
                held: fence,
            },
            Ok(Some(stored)) if stored.checkpoint.status != Status::Running => {
                StoreError::Ended(id.to_owned())
            }
            Ok(Some(stored)) => StoreError::Corrupt {
                execution: id.to_owned(),
                what: "history",
                detail: format!(
                    "the transition does not follow event {}, where the history ends",
                    stored.last_event_id
                ),
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
        let owner = owner.to_owned();
        self.io.run(async move {
            retrying!(shared, async {
                let client = shared.client().await?;
                let c = &new.checkpoint;
                let retries: Vec<i64> = c.retries.iter().map(|&r| i64::from(r)).collect();
                let statement = client
                    .prepare_cached(&shared.sql.create)
                    .await
                    .map_err(database)?;
                let inserted = client
                    .execute(
                        &statement,
                        &[
                            &new.id,
                            &new.name,
                            &new.workflow,
                            &new.version,
                            &new.input,
                            &c.state,
                            &big(c.entry),
                            &i64::from(c.attempt),
                            &retries,
                            &c.waiting,
                            &c.wake_at.map(nanos),
                            &c.status.name(),
                            &c.output,
                            &c.error.as_ref().map(|e| e.name.as_str()),
                            &c.error.as_ref().map(|e| e.cause.as_str()),
                            &nanos(new.started_at),
                            &owner,
                            &nanos(lease_until),
                            &c.state_name,
                            &shared.channel,
                        ],
                    )
                    .await
                    .map_err(database)?;
                if inserted == 1 {
                    return Ok(Created::New { fence: 1 });
                }
                let statement = client
                    .prepare_cached(&shared.sql.by_name)
                    .await
                    .map_err(database)?;
                let row = client
                    .query_opt(&statement, &[&new.name])
                    .await
                    .map_err(database)?
                    // The name's row was there a moment ago: only a purge in
                    // between removes it, and then a retry creates it.
                    .ok_or_else(|| {
                        StoreError::Database(format!(
                            "execution `{}` disappeared while it was being started",
                            new.name
                        ))
                    })?;
                Ok(Created::Existing(Box::new(execution(&row)?)))
            })
        })
    }

    fn commit(&self, transition: Transition) -> StoreFuture<'_, ()> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                let id = &transition.execution;
                // The events must follow one another; the statement checks that
                // the first follows the stored history.
                let previous = transition
                    .events
                    .first()
                    .map(|e| e.previous_event_id)
                    .unwrap_or_default();
                check_events(id, previous, &transition.events)?;
                let client = shared.client().await?;
                let statement = client
                    .prepare_cached(&shared.sql.commit)
                    .await
                    .map_err(database)?;
                let c = &transition.checkpoint;
                let retries: Vec<i64> = c.retries.iter().map(|&r| i64::from(r)).collect();
                let events = &transition.events;
                let ids: Vec<i64> = events.iter().map(|e| big(e.id)).collect();
                let previous_ids: Vec<i64> =
                    events.iter().map(|e| big(e.previous_event_id)).collect();
                let ats: Vec<i64> = events.iter().map(|e| nanos(e.timestamp)).collect();
                let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
                let states: Vec<Option<&str>> = events.iter().map(|e| e.state.as_deref()).collect();
                let data: Vec<Option<&str>> = events.iter().map(|e| e.data.as_deref()).collect();
                // Without events, the history's end is whatever it is.
                let follows: Option<i64> = events.first().map(|e| big(e.previous_event_id));
                let row = client
                    .query_one(
                        &statement,
                        &[
                            id,
                            &big(transition.fence),
                            &follows,
                            &c.state,
                            &big(c.entry),
                            &i64::from(c.attempt),
                            &retries,
                            &c.waiting,
                            &c.wake_at.map(nanos),
                            &c.status.name(),
                            &c.output,
                            &c.error.as_ref().map(|e| e.name.as_str()),
                            &c.error.as_ref().map(|e| e.cause.as_str()),
                            &transition.stopped_at.map(nanos),
                            &events.last().map(|e| big(e.id)),
                            &c.state_name,
                            &ids,
                            &previous_ids,
                            &ats,
                            &kinds,
                            &states,
                            &data,
                        ],
                    )
                    .await
                    .map_err(database)?;
                let updated: i64 = row.try_get(0).map_err(database)?;
                if updated == 1 {
                    return Ok(());
                }
                let landed = transition.events.last().map(|e| e.id);
                shared.refused(id, transition.fence, landed).await
            })
        })
    }

    fn claim(&self, claim: Claim) -> StoreFuture<'_, Vec<StoredExecution>> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                let client = shared.client().await?;
                let statement = client
                    .prepare_cached(&shared.sql.claim)
                    .await
                    .map_err(database)?;
                let limit = i64::try_from(claim.limit).unwrap_or(i64::MAX);
                let rows = client
                    .query(
                        &statement,
                        &[
                            &claim.owner,
                            &nanos(claim.lease_until),
                            &nanos(claim.due_by),
                            &nanos(claim.leases_expired_by),
                            &limit,
                        ],
                    )
                    .await
                    .map_err(database)?;
                rows.iter().map(execution).collect()
            })
        })
    }

    fn release(&self, execution: &str, fence: u64) -> StoreFuture<'_, ()> {
        let shared = Arc::clone(&self.shared);
        let id = execution.to_owned();
        self.io.run(async move {
            retrying!(shared, async {
                let client = shared.client().await?;
                let statement = client
                    .prepare_cached(&shared.sql.release)
                    .await
                    .map_err(database)?;
                let released = client
                    .execute(&statement, &[&id, &big(fence), &shared.channel])
                    .await
                    .map_err(database)?;
                if released == 1 {
                    return Ok(());
                }
                // Released by an earlier try whose reply was lost: done.
                match shared.refused(&id, fence, None).await {
                    Err(StoreError::Corrupt { .. }) => Ok(()),
                    refused => refused,
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
                let client = shared.client().await?;
                let statement = client
                    .prepare_cached(&shared.sql.renew)
                    .await
                    .map_err(database)?;
                let rows = client
                    .query(&statement, &[&nanos(lease_until), &ids, &fences])
                    .await
                    .map_err(database)?;
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
                let client = shared.client().await?;
                let statement = client
                    .prepare_cached(&shared.sql.next_wake)
                    .await
                    .map_err(database)?;
                let row = client
                    .query_one(&statement, &[&nanos(leases_expired_by)])
                    .await
                    .map_err(database)?;
                let next: Option<i64> = row.try_get(0).map_err(database)?;
                Ok(next.map(time))
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
                let rows = {
                    let client = shared.client().await?;
                    let statement = client
                        .prepare_cached(&shared.sql.history)
                        .await
                        .map_err(database)?;
                    client.query(&statement, &[&id]).await.map_err(database)?
                };
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
                let client = shared.client().await?;
                let statement = client
                    .prepare_cached(&shared.sql.list)
                    .await
                    .map_err(database)?;
                let status = filter.status.map(Status::name);
                let rows = client
                    .query(&statement, &[&filter.workflow, &status])
                    .await
                    .map_err(database)?;
                rows.iter().map(execution).collect()
            })
        })
    }

    fn purge(&self, ended_before: SystemTime, limit: usize) -> StoreFuture<'_, u64> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                let client = shared.client().await?;
                let statement = client
                    .prepare_cached(&shared.sql.purge)
                    .await
                    .map_err(database)?;
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let row = client
                    .query_one(&statement, &[&nanos(ended_before), &limit])
                    .await
                    .map_err(database)?;
                let purged: i64 = row.try_get(0).map_err(database)?;
                Ok(count(purged))
            })
        })
    }

    fn complete_callback(
        &self,
        token: &str,
        result: CallbackResult,
    ) -> StoreFuture<'_, CallbackResult> {
        let shared = Arc::clone(&self.shared);
        let token = token.to_owned();
        self.io.run(async move {
            retrying!(shared, async {
                let (succeeded, output, error, cause) = match &result {
                    CallbackResult::Succeeded(output) => (true, Some(output), None, None),
                    CallbackResult::Failed { error, cause } => {
                        (false, None, Some(error), Some(cause))
                    }
                };
                let inserted = {
                    let client = shared.client().await?;
                    let statement = client
                        .prepare_cached(&shared.sql.complete_callback)
                        .await
                        .map_err(database)?;
                    client
                        .execute(
                            &statement,
                            &[&token, &succeeded, &output, &error, &cause, &shared.channel],
                        )
                        .await
                        .map_err(database)?
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

    fn callback(&self, token: &str) -> StoreFuture<'_, Option<CallbackResult>> {
        let shared = Arc::clone(&self.shared);
        let token = token.to_owned();
        self.io
            .run(async move { retrying!(shared, shared.callback(&token)) })
    }

    fn save_definition(&self, definition: StoredDefinition) -> StoreFuture<'_, ()> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                let client = shared.client().await?;
                let statement = client
                    .prepare_cached(&shared.sql.save_definition)
                    .await
                    .map_err(database)?;
                client
                    .execute(
                        &statement,
                        &[
                            &definition.workflow,
                            &definition.version,
                            &definition.definition,
                        ],
                    )
                    .await
                    .map_err(database)?;
                Ok(())
            })
        })
    }

    fn definitions(&self) -> StoreFuture<'_, Vec<StoredDefinition>> {
        let shared = Arc::clone(&self.shared);
        self.io.run(async move {
            retrying!(shared, async {
                let client = shared.client().await?;
                let statement = client
                    .prepare_cached(&shared.sql.definitions)
                    .await
                    .map_err(database)?;
                let rows = client.query(&statement, &[]).await.map_err(database)?;
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
