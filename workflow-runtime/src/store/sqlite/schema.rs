//! The file's schema: one migration per version, run in order on open.

use std::time::Duration;

use rusqlite::Connection;

use super::database;
use crate::store::StoreError;

/// The schema, one migration per version; `PRAGMA user_version` records how
/// many have run.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE executions (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        workflow TEXT NOT NULL,
        version TEXT NOT NULL,
        input TEXT NOT NULL,
        state TEXT NOT NULL,
        state_name TEXT NOT NULL,
        entry INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        retries TEXT NOT NULL,
        waiting TEXT,
        wake_at INTEGER,
        status TEXT NOT NULL,
        output TEXT,
        error_name TEXT,
        error_cause TEXT,
        started_at INTEGER NOT NULL,
        stopped_at INTEGER,
        last_event_id INTEGER NOT NULL,
        fence INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER
    );
    CREATE INDEX executions_due ON executions (status, wake_at);
    CREATE INDEX executions_by_workflow ON executions (workflow, status);
    CREATE TABLE events (
        execution TEXT NOT NULL,
        id INTEGER NOT NULL,
        previous_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        kind TEXT NOT NULL,
        state TEXT,
        data TEXT,
        PRIMARY KEY (execution, id)
    ) WITHOUT ROWID;
"#,
    r#"
    CREATE TABLE callbacks (
        token TEXT PRIMARY KEY,
        succeeded INTEGER NOT NULL,
        output TEXT,
        error TEXT,
        cause TEXT
    ) WITHOUT ROWID;
"#,
    r#"
    CREATE TABLE definitions (
        workflow TEXT NOT NULL,
        version TEXT NOT NULL,
        definition TEXT NOT NULL,
        PRIMARY KEY (workflow, version)
    );
"#,
    // Claiming due executions walked every running row: (status, wake_at)
    // cannot tell a parked row from one an engine holds. This index puts
    // the unleased ones together, by wake-up time.
    r#"
    DROP INDEX IF EXISTS executions_due;
    CREATE INDEX IF NOT EXISTS executions_claimable
        ON executions (status, lease_until, wake_at);
"#,
    // Callback tokens made with a random secret per execution, and the
    // callbacks that wait, for the pending list. Executions from before get
    // a secret of their own here (SQLite's generator is seeded from the
    // system's randomness); tokens they handed out before, which were
    // their idempotency keys, are refused from now on.
    r#"
    ALTER TABLE executions ADD COLUMN callback_secret TEXT NOT NULL DEFAULT '';
    UPDATE executions SET callback_secret = lower(hex(randomblob(32)));
    CREATE TABLE awaited_callbacks (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        token TEXT NOT NULL,
        execution TEXT NOT NULL,
        anchor_state TEXT NOT NULL,
        anchor_entry INTEGER NOT NULL,
        state TEXT NOT NULL,
        since INTEGER NOT NULL,
        message TEXT
    );
    CREATE INDEX awaited_callbacks_by_execution ON awaited_callbacks (execution);
"#,
    // Finished Parallel branches and Map iterations, so that a resumed
    // state runs only the children that had not finished.
    r#"
    CREATE TABLE children (
        execution TEXT NOT NULL,
        entry INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        output TEXT NOT NULL,
        PRIMARY KEY (execution, entry, attempt, idx)
    ) WITHOUT ROWID;
"#,
    // Ended executions by when they ended, for purges: without it a purge
    // reads past every running execution started before the ones it
    // deletes, at every batch. Partial, so running executions (the ones
    // written often) are not in it.
    r#"
    CREATE INDEX executions_ended ON executions (stopped_at) WHERE status <> 'Running';
"#,
    // The workflow's path (module and enum), which tells workflows of one
    // name apart. Executions from before have none: recovery finds their
    // workflow by its name and version.
    r#"
    ALTER TABLE executions ADD COLUMN workflow_path TEXT;
"#,
    // The callback task an execution is parked on, as
    // `ParkedCallback::encode` writes it: its deadlines, kept while no
    // future waits for the answer.
    r#"
    ALTER TABLE executions ADD COLUMN callback TEXT;
"#,
];

/// Settings and schema for a freshly opened connection.
pub(super) fn prepare(connection: Connection) -> Result<Connection, StoreError> {
    connection
        .busy_timeout(Duration::from_secs(5))
        .map_err(database)?;
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .map_err(database)?;
    connection
        .pragma_update(None, "synchronous", "NORMAL")
        .map_err(database)?;
    // Each job runs in a savepoint, whose undo log SQLite otherwise keeps
    // in a temporary file: one more write per page a job changes.
    connection
        .pragma_update(None, "temp_store", "MEMORY")
        .map_err(database)?;
    migrate(&connection)?;
    // Every statement the store runs stays prepared: there are about twenty,
    // more than rusqlite's default cache of 16 holds.
    connection.set_prepared_statement_cache_capacity(64);
    Ok(connection)
}

pub(super) fn migrate(connection: &Connection) -> Result<(), StoreError> {
    let version: i64 = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(database)?;
    let supported = MIGRATIONS.len() as i64;
    if version > supported {
        return Err(StoreError::NewerSchema {
            found: version,
            supported,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let next = index as i64 + 1;
        connection
            .execute_batch(&format!(
                "BEGIN IMMEDIATE; {migration}; PRAGMA user_version = {next}; COMMIT;"
            ))
            .map_err(database)?;
    }
    Ok(())
}
