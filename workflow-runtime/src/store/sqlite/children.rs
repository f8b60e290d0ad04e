//! Finished Parallel branches and Map iterations in the SQLite store.

use rusqlite::{Connection, params};

use super::{count, database, execute_cached, insert_events, writable};
use crate::store::{ChildTransition, FinishedChild, StoreError, check_events};

/// Writes finished children and their events, if the fence is current
/// and the execution running.
pub(super) fn commit(
    connection: &Connection,
    transition: &ChildTransition,
) -> Result<(), StoreError> {
    let id = &transition.execution;
    let stored = writable(connection, id, transition.fence)?;
    check_events(id, stored.last_event_id, &transition.events)?;
    insert_events(connection, id, &transition.events)?;
    if let Some(event) = transition.events.last() {
        execute_cached(
            connection,
            "UPDATE executions SET last_event_id = ?2 WHERE id = ?1",
            params![id, i64::try_from(event.id).unwrap_or(i64::MAX)],
        )
        .map_err(database)?;
    }
    let mut insert = connection
        .prepare_cached(
            "INSERT INTO children (execution, entry, attempt, idx, output) \
             VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (execution, entry, attempt, idx) DO UPDATE SET output = excluded.output",
        )
        .map_err(database)?;
    for child in &transition.children {
        insert
            .execute(params![
                id,
                i64::try_from(child.entry).unwrap_or(i64::MAX),
                i64::from(child.attempt),
                i64::try_from(child.index).unwrap_or(i64::MAX),
                child.output,
            ])
            .map_err(database)?;
    }
    Ok(())
}

/// The children finished in one attempt of one state entry, by index.
pub(super) fn read(
    connection: &Connection,
    id: &str,
    entry: u64,
    attempt: u32,
) -> Result<Vec<FinishedChild>, StoreError> {
    connection
        .prepare_cached(
            "SELECT idx, output FROM children \
             WHERE execution = ?1 AND entry = ?2 AND attempt = ?3 ORDER BY idx",
        )
        .map_err(database)?
        .query_map(
            params![
                id,
                i64::try_from(entry).unwrap_or(i64::MAX),
                i64::from(attempt)
            ],
            |row| {
                Ok(FinishedChild {
                    entry,
                    attempt,
                    index: count(row.get(0)?),
                    output: row.get(1)?,
                })
            },
        )
        .map_err(database)?
        .collect::<Result<_, _>>()
        .map_err(database)
}
