//! Purging the SQLite store: one job, so one transaction (shared with the
//! jobs of its batch, in a savepoint of its own).

use std::time::SystemTime;

use rusqlite::Connection;

use super::{database, execute_cached, nanos};
use crate::store::StoreError;

/// The ids of at most `?2` executions that ended before `?1`.
const ENDED_BEFORE: &str =
    "SELECT id FROM executions WHERE status <> 'Running' AND stopped_at < ?1 LIMIT ?2";

/// Deletes at most `limit` executions that ended before `ended_before`,
/// their events, finished children, their callback answers and their
/// awaited callbacks; how many it deleted.
///
/// The first statement reads the partial index of ended executions by
/// their stop time (`executions_ended`), so a batch reads what it deletes,
/// however many executions still run.
pub(super) fn purge(
    connection: &Connection,
    ended_before: SystemTime,
    limit: usize,
) -> Result<u64, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids: Vec<String> = connection
        .prepare_cached(ENDED_BEFORE)
        .map_err(database)?
        .query_map(rusqlite::params![nanos(ended_before), limit], |row| {
            row.get(0)
        })
        .map_err(database)?
        .collect::<Result<_, _>>()
        .map_err(database)?;
    for id in &ids {
        // The events' primary key starts with the execution.
        execute_cached(connection, "DELETE FROM events WHERE execution = ?1", [id])
            .map_err(database)?;
        execute_cached(
            connection,
            "DELETE FROM children WHERE execution = ?1",
            [id],
        )
        .map_err(database)?;
        // Tokens whose part before the first `/` is the id: a range of the
        // primary key (`0` follows `/` in byte order, which the key's
        // BINARY collation is), and the first `/` right after the id.
        execute_cached(
            connection,
            "DELETE FROM callbacks WHERE token >= ?1 || '/' AND token < ?1 || '0' \
             AND instr(token, '/') = length(?1) + 1",
            [id],
        )
        .map_err(database)?;
        execute_cached(
            connection,
            "DELETE FROM awaited_callbacks WHERE execution = ?1",
            [id],
        )
        .map_err(database)?;
        execute_cached(connection, "DELETE FROM executions WHERE id = ?1", [id])
            .map_err(database)?;
    }
    Ok(ids.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purge_finds_ended_executions_by_the_index_of_stop_times() {
        let connection =
            super::super::schema::prepare(Connection::open_in_memory().unwrap()).unwrap();
        let plan: Vec<String> = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {ENDED_BEFORE}"))
            .unwrap()
            .query_map([0, 10], |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.contains("USING INDEX executions_ended")),
            "{plan:?}"
        );
    }
}
