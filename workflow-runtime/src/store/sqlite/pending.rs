//! Callback tasks that wait, in the SQLite store: recorded once per key,
//! listed in sequence order while they still wait.

use std::time::SystemTime;

use rusqlite::{Connection, params};

use super::{count, database, execute_cached, nanos, time};
use crate::store::{AwaitedCallback, PendingQuery, PendingRow, StoreError};

/// Sets the wake-up time of an execution parked on a callback at this
/// entry of this state; see [`Store::wake_callback`](crate::store::Store::wake_callback).
pub(super) fn wake(
    connection: &Connection,
    execution: &str,
    state: &str,
    entry: u64,
    wake_at: SystemTime,
) -> Result<bool, StoreError> {
    let changed = execute_cached(
        connection,
        "UPDATE executions SET wake_at = ?4 WHERE id = ?1 AND status = 'Running' \
             AND callback IS NOT NULL AND state_name = ?2 AND entry = ?3",
        params![
            execution,
            state,
            i64::try_from(entry).unwrap_or(i64::MAX),
            nanos(wake_at)
        ],
    )
    .map_err(database)?;
    Ok(changed > 0)
}

/// Records a waiting task, unless its key is recorded.
pub(super) fn awaited(
    connection: &Connection,
    awaited: &AwaitedCallback,
) -> Result<(), StoreError> {
    execute_cached(
        connection,
        "INSERT INTO awaited_callbacks \
             (key, token, execution, anchor_state, anchor_entry, state, since, message) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (key) DO NOTHING",
        params![
            awaited.key,
            awaited.token,
            awaited.execution,
            awaited.anchor_state,
            i64::try_from(awaited.anchor_entry).unwrap_or(i64::MAX),
            awaited.state,
            nanos(awaited.since),
            awaited.message,
        ],
    )
    .map_err(database)?;
    Ok(())
}

/// Forgets the record of an answered task.
pub(super) fn answered(connection: &Connection, key: &str) -> Result<(), StoreError> {
    execute_cached(
        connection,
        "DELETE FROM awaited_callbacks WHERE key = ?1",
        [key],
    )
    .map_err(database)?;
    Ok(())
}

/// The pending callbacks `query` asks for: read in sequence order, joined
/// with their executions, which must still be at the anchor.
pub(super) fn pending(
    connection: &Connection,
    query: &PendingQuery,
) -> Result<Vec<PendingRow>, StoreError> {
    let mut statement = connection
        .prepare_cached(
            "SELECT a.seq, a.token, a.execution, e.name, e.workflow, a.state, a.since, a.message \
             FROM awaited_callbacks AS a JOIN executions AS e ON e.id = a.execution \
             WHERE a.seq > ?1 AND (?2 IS NULL OR a.execution = ?2) \
                 AND (?3 IS NULL OR e.workflow = ?3) AND e.status = 'Running' \
                 AND e.state_name = a.anchor_state AND e.entry = a.anchor_entry \
                 AND NOT EXISTS (SELECT 1 FROM callbacks AS c WHERE c.token = a.key) \
             ORDER BY a.seq LIMIT ?4",
        )
        .map_err(database)?;
    let rows = statement
        .query_map(
            params![
                i64::try_from(query.after).unwrap_or(i64::MAX),
                query.execution,
                query.workflow,
                i64::try_from(query.limit).unwrap_or(i64::MAX),
            ],
            |row| {
                Ok(PendingRow {
                    seq: count(row.get(0)?),
                    token: row.get(1)?,
                    execution: row.get(2)?,
                    name: row.get(3)?,
                    workflow: row.get(4)?,
                    state: row.get(5)?,
                    since: time(row.get(6)?),
                    message: row.get(7)?,
                })
            },
        )
        .map_err(database)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(database)?;
    Ok(rows)
}
