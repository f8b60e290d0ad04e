//! Rows and values: reading an execution row back and checking it, times
//! as nanoseconds, and the statements every operation shares.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};

use crate::error_info::ErrorInfo;
use crate::history::Event;
use crate::status::Status;
use crate::store::{CallbackResult, Checkpoint, ParkedCallback, StoreError, StoredExecution};

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
    last_event_id, fence, state_name, callback_secret, workflow_path, callback";

/// An execution row, read with [`COLUMNS`]. A column that does not read
/// back as written (a value of the wrong type, an unknown status, retry
/// counters that are not JSON) is a [`StoreError::Corrupt`] naming the
/// execution and the column: the error of this row, not of the query that
/// read it, so the rows beside it still serve.
pub(super) fn execution(row: &rusqlite::Row<'_>) -> Result<StoredExecution, StoreError> {
    let id = row
        .get::<_, String>(0)
        .map_err(|error| StoreError::Corrupt {
            execution: row
                .get_ref(0)
                .map(|value| format!("{value:?}"))
                .unwrap_or_default(),
            what: "id",
            detail: error.to_string(),
        })?;
    let columns = Columns { row, id: &id };
    let status: String = columns.get(11, "status")?;
    let status = Status::from_name(&status)
        .ok_or_else(|| columns.corrupt("status", format!("unknown status `{status}`")))?;
    let retries: String = columns.get(8, "retry counters")?;
    let retries: Vec<u32> = serde_json::from_str(&retries)
        .map_err(|e| columns.corrupt("retry counters", e.to_string()))?;
    let attempt: i64 = columns.get(7, "attempt")?;
    let attempt = u32::try_from(attempt)
        .map_err(|_| columns.corrupt("attempt", format!("{attempt} is not an attempt")))?;
    let error_name: Option<String> = columns.get(13, "error")?;
    let error_cause: Option<String> = columns.get(14, "error")?;
    let callback = columns
        .get::<Option<String>>(22, "parked callback")?
        .map(|text| ParkedCallback::decode(&text))
        .transpose()
        .map_err(|detail| columns.corrupt("parked callback", detail))?;
    Ok(StoredExecution {
        checkpoint: Checkpoint {
            state: columns.get(5, "state")?,
            state_name: columns.get(19, "state name")?,
            entry: count(columns.get(6, "entry")?),
            attempt,
            retries,
            waiting: columns.get(9, "wait")?,
            wake_at: columns.get::<Option<i64>>(10, "wake-up time")?.map(time),
            callback,
            status,
            output: columns.get(12, "output")?,
            error: error_name.map(|name| ErrorInfo::new(name, error_cause.unwrap_or_default())),
        },
        name: columns.get(1, "name")?,
        workflow: columns.get(2, "workflow")?,
        path: columns.get(21, "workflow path")?,
        version: columns.get(3, "version")?,
        input: columns.get(4, "input")?,
        started_at: time(columns.get(15, "start time")?),
        stopped_at: columns.get::<Option<i64>>(16, "stop time")?.map(time),
        last_event_id: count(columns.get(17, "last event id")?),
        fence: count(columns.get(18, "fence")?),
        callback_secret: columns.get(20, "callback secret")?,
        id,
    })
}

/// One execution row's columns, each read as its type or reported as
/// that execution's corrupt column.
struct Columns<'r, 'a> {
    row: &'r rusqlite::Row<'a>,
    id: &'r str,
}

impl Columns<'_, '_> {
    fn get<T: rusqlite::types::FromSql>(
        &self,
        index: usize,
        what: &'static str,
    ) -> Result<T, StoreError> {
        self.row
            .get(index)
            .map_err(|error| self.corrupt(what, error.to_string()))
    }

    fn corrupt(&self, what: &'static str, detail: String) -> StoreError {
        StoreError::Corrupt {
            execution: self.id.to_owned(),
            what,
            detail,
        }
    }
}

/// The error of a row a scan (a list, a claim) leaves out: a corrupt one
/// is logged, naming the execution and the column, and handed back, so one
/// bad row does not stop the store; any other error is the scan's own.
pub(super) fn left_out(error: StoreError) -> Result<StoreError, StoreError> {
    match &error {
        StoreError::Corrupt {
            execution,
            what,
            detail,
        } => {
            tracing::error!(
                %execution,
                column = what,
                %detail,
                "left out an execution whose row is corrupt"
            );
            Ok(error)
        }
        _ => Err(error),
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
    query_cached(
        connection,
        &format!("SELECT {COLUMNS} FROM executions WHERE id = ?1"),
        [id],
        |row| Ok(execution(row)),
    )
    .optional()
    .map_err(database)?
    .transpose()
}

/// The executions a query selects, in its order, less the corrupt ones
/// (see [`left_out`]).
pub(super) fn select(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredExecution>, StoreError> {
    let mut statement = connection.prepare_cached(sql).map_err(database)?;
    let rows = statement
        .query_map(params, |row| Ok(execution(row)))
        .map_err(database)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(database)?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        match row {
            Ok(execution) => found.push(execution),
            Err(error) => drop(left_out(error)?),
        }
    }
    Ok(found)
}

/// Whether an execution with this id is stored (whatever its row holds).
pub(super) fn exists(connection: &Connection, id: &str) -> Result<bool, StoreError> {
    query_cached(
        connection,
        "SELECT 1 FROM executions WHERE id = ?1",
        [id],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
    .map_err(database)
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
