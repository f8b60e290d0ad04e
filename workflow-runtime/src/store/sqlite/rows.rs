//! Rows and values: reading an execution row back and checking it, times
//! as nanoseconds, and the statements every operation shares.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};

use crate::error_info::ErrorInfo;
use crate::history::Event;
use crate::status::Status;
use crate::store::{CallbackResult, Checkpoint, StoreError, StoredExecution};

pub(super) fn database(error: rusqlite::Error) -> StoreError {
    let text = error.to_string();
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked(text),
        Some(ErrorCode::DiskFull) => StoreError::Full(text),
        _ => StoreError::Database(text),
    }
}

pub(super) fn nanos(time: SystemTime) -> i64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

pub(super) fn time(nanos: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

pub(super) fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

pub(super) const COLUMNS: &str = "id, name, workflow, version, input, state, entry, attempt, retries, \
    waiting, wake_at, status, output, error_name, error_cause, started_at, stopped_at, \
    last_event_id, fence, state_name, callback_secret";

/// A row as read, before it is checked.
pub(super) struct RawRow {
    id: String,
    name: String,
    workflow: String,
    version: String,
    input: String,
    state: String,
    entry: i64,
    attempt: i64,
    retries: String,
    waiting: Option<String>,
    wake_at: Option<i64>,
    status: String,
    output: Option<String>,
    error_name: Option<String>,
    error_cause: Option<String>,
    started_at: i64,
    stopped_at: Option<i64>,
    last_event_id: i64,
    fence: i64,
    state_name: String,
    callback_secret: String,
}

pub(super) fn raw(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        id: row.get(0)?,
        name: row.get(1)?,
        workflow: row.get(2)?,
        version: row.get(3)?,
        input: row.get(4)?,
        state: row.get(5)?,
        entry: row.get(6)?,
        attempt: row.get(7)?,
        retries: row.get(8)?,
        waiting: row.get(9)?,
        wake_at: row.get(10)?,
        status: row.get(11)?,
        output: row.get(12)?,
        error_name: row.get(13)?,
        error_cause: row.get(14)?,
        started_at: row.get(15)?,
        stopped_at: row.get(16)?,
        last_event_id: row.get(17)?,
        fence: row.get(18)?,
        state_name: row.get(19)?,
        callback_secret: row.get(20)?,
    })
}

impl RawRow {
    pub(super) fn check(self) -> Result<StoredExecution, StoreError> {
        let corrupt = |what, detail: String| StoreError::Corrupt {
            execution: self.id.clone(),
            what,
            detail,
        };
        let status = Status::from_name(&self.status)
            .ok_or_else(|| corrupt("status", format!("unknown status `{}`", self.status)))?;
        let retries: Vec<u32> = serde_json::from_str(&self.retries)
            .map_err(|e| corrupt("retry counters", e.to_string()))?;
        let attempt = u32::try_from(self.attempt)
            .map_err(|_| corrupt("attempt", format!("{} is not an attempt", self.attempt)))?;
        let error = match (self.error_name, self.error_cause) {
            (Some(name), cause) => Some(ErrorInfo::new(name, cause.unwrap_or_default())),
            (None, _) => None,
        };
        Ok(StoredExecution {
            checkpoint: Checkpoint {
                state: self.state,
                state_name: self.state_name,
                entry: count(self.entry),
                attempt,
                retries,
                waiting: self.waiting,
                wake_at: self.wake_at.map(time),
                status,
                output: self.output,
                error,
            },
            id: self.id,
            name: self.name,
            workflow: self.workflow,
            version: self.version,
            input: self.input,
            started_at: time(self.started_at),
            stopped_at: self.stopped_at.map(time),
            last_event_id: count(self.last_event_id),
            fence: count(self.fence),
            callback_secret: self.callback_secret,
        })
    }
}

/// A one-row query through the connection's statement cache: the store
/// runs the same few statements for every job, and parsing them again
/// each time was a measurable share of the database thread.
pub(super) fn query_cached<T, P: rusqlite::Params>(
    connection: &Connection,
    sql: &str,
    params: P,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    connection.prepare_cached(sql)?.query_row(params, f)
}

/// A write through the connection's statement cache (see `query_cached`).
pub(super) fn execute_cached<P: rusqlite::Params>(
    connection: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    connection.prepare_cached(sql)?.execute(params)
}

pub(super) fn load(
    connection: &Connection,
    id: &str,
) -> Result<Option<StoredExecution>, StoreError> {
    let raw = query_cached(
        connection,
        &format!("SELECT {COLUMNS} FROM executions WHERE id = ?1"),
        [id],
        raw,
    )
    .optional()
    .map_err(database)?;
    raw.map(RawRow::check).transpose()
}

pub(super) fn select(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredExecution>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(database)?;
    let rows = statement
        .query_map(params, raw)
        .map_err(database)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(database)?;
    rows.into_iter().map(RawRow::check).collect()
}

pub(super) fn fence_of(connection: &Connection, id: &str) -> Result<u64, StoreError> {
    connection
        .prepare_cached("SELECT fence FROM executions WHERE id = ?1")
        .and_then(|mut select| select.query_row([id], |row| row.get::<_, i64>(0)))
        .optional()
        .map_err(database)?
        .map(count)
        .ok_or_else(|| StoreError::NotFound(id.to_owned()))
}

/// Where a running execution's history and timer stand, for a write.
pub(super) struct Writable {
    /// The id of its last history event.
    pub(super) last_event_id: u64,
    /// Its wake-up time, as stored.
    pub(super) wake_at: Option<i64>,
}

/// The check every write makes first: the execution exists, `fence` is
/// its current one, and it is still running.
///
/// # Errors
///
/// [`StoreError::NotFound`], [`StoreError::Fenced`] or
/// [`StoreError::Ended`], or the database's error.
pub(super) fn writable(
    connection: &Connection,
    id: &str,
    fence: u64,
) -> Result<Writable, StoreError> {
    let (current, last_event_id, status, wake_at): (i64, i64, String, Option<i64>) = query_cached(
        connection,
        "SELECT fence, last_event_id, status, wake_at FROM executions WHERE id = ?1",
        [id],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
    )
    .optional()
    .map_err(database)?
    .ok_or_else(|| StoreError::NotFound(id.to_owned()))?;
    if count(current) != fence {
        return Err(StoreError::Fenced {
            execution: id.to_owned(),
            held: fence,
        });
    }
    if status != Status::Running.name() {
        return Err(StoreError::Ended(id.to_owned()));
    }
    Ok(Writable {
        last_event_id: count(last_event_id),
        wake_at,
    })
}

/// Appends events (checked to follow the history) to an execution's.
pub(super) fn insert_events(
    connection: &Connection,
    id: &str,
    events: &[Event],
) -> Result<(), StoreError> {
    let mut insert = connection
        .prepare_cached(
            "INSERT INTO events (execution, id, previous_id, at, kind, state, data) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(database)?;
    for event in events {
        insert
            .execute(params![
                id,
                i64::try_from(event.id).unwrap_or(i64::MAX),
                i64::try_from(event.previous_event_id).unwrap_or(i64::MAX),
                nanos(event.timestamp),
                event.kind.name(),
                event.state,
                event.data,
            ])
            .map_err(database)?;
    }
    Ok(())
}

/// The completion stored for a callback token, if any.
pub(super) fn stored_callback(
    connection: &Connection,
    token: &str,
) -> Result<Option<CallbackResult>, StoreError> {
    let row = query_cached(
        connection,
        "SELECT succeeded, output, error, cause FROM callbacks WHERE token = ?1",
        [token],
        |row| {
            Ok((
                row.get::<_, bool>(0)?,
                row.get::<_, Option<String>>(1)?,
                row.get::<_, Option<String>>(2)?,
                row.get::<_, Option<String>>(3)?,
            ))
        },
    )
    .optional()
    .map_err(database)?;
    Ok(row.map(|(succeeded, output, error, cause)| {
        if succeeded {
            CallbackResult::Succeeded(output.unwrap_or_default())
        } else {
            CallbackResult::Failed {
                error: error.unwrap_or_default(),
                cause: cause.unwrap_or_default(),
            }
        }
    }))
}
