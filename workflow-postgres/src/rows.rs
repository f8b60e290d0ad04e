//! Rows as the store's types, and the database's errors as the store's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use workflow_runtime::store::{
    Checkpoint, Claimed, ParkedCallback, StoreError, StoredExecution, check_events,
};
use workflow_runtime::{ErrorInfo, Event, Status};

/// The columns [`execution`] reads, in its order.
pub(crate) const COLUMNS: &str = "id, name, workflow, version, input::text, state::text, \
    entry, attempt, retries, waiting, wake_at, status, output::text, error_name, error_cause, \
    started_at, stopped_at, last_event_id, fence, state_name, callback_secret, workflow_path, \
    callback";

/// An execution row, read with [`COLUMNS`]. A row that does not read back
/// as written is a typed error naming the execution, not a panic.
pub(crate) fn execution(row: &Row) -> Result<StoredExecution, StoreError> {
    let id: String = row.try_get(0).map_err(database)?;
    let corrupt = |what, detail: String| StoreError::Corrupt {
        execution: id.clone(),
        what,
        detail,
    };
    let column =
        |what: &'static str, error: tokio_postgres::Error| corrupt(what, error.to_string());
    let status: String = row.try_get(11).map_err(|e| column("status", e))?;
    let status = Status::from_name(&status)
        .ok_or_else(|| corrupt("status", format!("unknown status `{status}`")))?;
    let retries: Vec<i64> = row.try_get(8).map_err(|e| column("retry counters", e))?;
    let retries = retries
        .into_iter()
        .map(|n| u32::try_from(n).map_err(|_| corrupt("retry counters", format!("{n} retries"))))
        .collect::<Result<Vec<u32>, _>>()?;
    let attempt: i64 = row.try_get(7).map_err(|e| column("attempt", e))?;
    let attempt = u32::try_from(attempt)
        .map_err(|_| corrupt("attempt", format!("{attempt} is not an attempt")))?;
    let error_name: Option<String> = row.try_get(13).map_err(|e| column("error", e))?;
    let error_cause: Option<String> = row.try_get(14).map_err(|e| column("error", e))?;
    let text = |index, what| row.try_get::<_, String>(index).map_err(|e| column(what, e));
    let optional = |index, what| {
        row.try_get::<_, Option<String>>(index)
            .map_err(|e| column(what, e))
    };
    let callback = optional(22, "parked callback")?
        .map(|text| ParkedCallback::decode(&text))
        .transpose()
        .map_err(|detail| corrupt("parked callback", detail))?;
    let number = |index, what| row.try_get::<_, i64>(index).map_err(|e| column(what, e));
    let optional_time = |index, what| {
        row.try_get::<_, Option<i64>>(index)
            .map(|t| t.map(time))
            .map_err(|e| column(what, e))
    };
    Ok(StoredExecution {
        checkpoint: Checkpoint {
            state: text(5, "state")?,
            state_name: text(19, "state name")?,
            entry: count(number(6, "entry")?),
            attempt,
            retries,
            waiting: optional(9, "wait")?,
            wake_at: optional_time(10, "wake-up time")?,
            callback,
            status,
            output: optional(12, "output")?,
            error: error_name.map(|name| ErrorInfo::new(name, error_cause.unwrap_or_default())),
        },
        name: text(1, "name")?,
        workflow: text(2, "workflow")?,
        path: optional(21, "workflow path")?,
        version: text(3, "version")?,
        input: text(4, "input")?,
        started_at: time(number(15, "start time")?),
        stopped_at: optional_time(16, "stop time")?,
        last_event_id: count(number(17, "last event id")?),
        fence: count(number(18, "fence")?),
        callback_secret: text(20, "callback secret")?,
        id,
    })
}

/// Execution rows read for a scan (a list, a claim): those that read
/// back, and the errors of the corrupt ones, each logged with the execution
/// and the column, so one bad row does not stop the store.
pub(crate) fn scan(rows: &[Row]) -> Result<Claimed, StoreError> {
    let mut scanned = Claimed {
        executions: Vec::with_capacity(rows.len()),
        corrupt: Vec::new(),
    };
    for row in rows {
        match execution(row) {
            Ok(read) => scanned.executions.push(read),
            Err(StoreError::Corrupt {
                execution,
                what,
                detail,
            }) => {
                tracing::error!(
                    %execution,
                    column = what,
                    %detail,
                    "left out an execution whose row is corrupt"
                );
                scanned.corrupt.push(StoreError::Corrupt {
                    execution,
                    what,
                    detail,
                });
            }
            Err(other) => return Err(other),
        }
    }
    Ok(scanned)
}

/// A time as the store writes it: nanoseconds since the Unix epoch.
pub(crate) fn nanos(time: SystemTime) -> i64 {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

/// A time as the store reads it back.
pub(crate) fn time(nanos: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// A count the store keeps as `bigint`.
pub(crate) fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A count as `bigint`.
pub(crate) fn big(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The database's error as the store's: what a caller can act on (retry
/// later, free space) is told apart from the rest.
pub(crate) fn database(error: tokio_postgres::Error) -> StoreError {
    let text = match error.as_db_error() {
        Some(db) => db.to_string(),
        // The client's own errors keep what went wrong in their source
        // ("error connecting to server" because the connection was
        // refused, say): the message says both.
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            text
        }
    };
    match error.code() {
        Some(&SqlState::DISK_FULL | &SqlState::OUT_OF_MEMORY) => StoreError::Full(text),
        Some(
            &SqlState::ADMIN_SHUTDOWN
            | &SqlState::CRASH_SHUTDOWN
            | &SqlState::CANNOT_CONNECT_NOW
            | &SqlState::TOO_MANY_CONNECTIONS,
        ) => StoreError::Unavailable(text),
        Some(&SqlState::LOCK_NOT_AVAILABLE) => StoreError::Locked(text),
        Some(_) => StoreError::Database(text),
        // No answer from the server at all: the connection is gone.
        None => StoreError::Unavailable(text),
    }
}

/// The pool's error as the store's.
pub(crate) fn pool(error: deadpool_postgres::PoolError) -> StoreError {
    match error {
        deadpool_postgres::PoolError::Backend(error) => database(error),
        deadpool_postgres::PoolError::Closed => StoreError::Closed,
        other => StoreError::Unavailable(other.to_string()),
    }
}

/// Checks that the events execution `id` is to record follow one another
/// (a write's statement checks that the first follows the stored history).
pub(crate) fn follow_one_another(id: &str, events: &[Event]) -> Result<(), StoreError> {
    let previous = events
        .first()
        .map(|e| e.previous_event_id)
        .unwrap_or_default();
    check_events(id, previous, events)
}

/// Lists of events as the columns `unnest` takes, and where the history
/// must end for them to follow it.
#[derive(Default)]
pub(crate) struct EventColumns<'a> {
    /// The execution of each event (a group commit writes many).
    pub(crate) executions: Vec<&'a str>,
    pub(crate) ids: Vec<i64>,
    pub(crate) previous_ids: Vec<i64>,
    pub(crate) ats: Vec<i64>,
    pub(crate) kinds: Vec<&'a str>,
    pub(crate) states: Vec<Option<&'a str>>,
    pub(crate) data: Vec<Option<&'a str>>,
    /// Without events, the history's end is whatever it is.
    pub(crate) follows: Option<i64>,
}

impl<'a> EventColumns<'a> {
    /// The columns of the events execution `id` is to record, once they
    /// are found to follow one another (the statement checks that the
    /// first follows the stored history).
    pub(crate) fn checked(id: &'a str, events: &'a [Event]) -> Result<Self, StoreError> {
        follow_one_another(id, events)?;
        let mut columns = EventColumns {
            follows: events.first().map(|e| big(e.previous_event_id)),
            ..EventColumns::default()
        };
        columns.push(id, events);
        Ok(columns)
    }

    /// Adds the events of one execution.
    pub(crate) fn push(&mut self, execution: &'a str, events: &'a [Event]) {
        for event in events {
            self.executions.push(execution);
            self.ids.push(big(event.id));
            self.previous_ids.push(big(event.previous_event_id));
            self.ats.push(nanos(event.timestamp));
            self.kinds.push(event.kind.name());
            self.states.push(event.state.as_deref());
            self.data.push(event.data.as_deref());
        }
    }
}

/// Checkpoints as the columns `unnest` takes, one entry per execution, in
/// the order the batch statements list them: state, entry, attempt,
/// retries, waiting, wake_at, status, output, error_name, error_cause,
/// state_name.
#[derive(Default)]
pub(crate) struct CheckpointColumns<'a> {
    pub(crate) states: Vec<&'a str>,
    pub(crate) entries: Vec<i64>,
    pub(crate) attempts: Vec<i64>,
    /// Each checkpoint's retry counters as an array literal (`{1,0}`): an
    /// array of arrays would have to be rectangular.
    pub(crate) retries: Vec<String>,
    pub(crate) waiting: Vec<Option<&'a str>>,
    pub(crate) wake_at: Vec<Option<i64>>,
    pub(crate) statuses: Vec<&'a str>,
    pub(crate) outputs: Vec<Option<&'a str>>,
    pub(crate) error_names: Vec<Option<&'a str>>,
    pub(crate) error_causes: Vec<Option<&'a str>>,
    pub(crate) state_names: Vec<&'a str>,
    /// Each checkpoint's parked callback, as `ParkedCallback::encode`
    /// writes it: a parameter of its own, after the statement's others.
    pub(crate) callbacks: Vec<Option<String>>,
}

impl<'a> CheckpointColumns<'a> {
    /// Adds one execution's checkpoint.
    pub(crate) fn push(&mut self, c: &'a Checkpoint) {
        self.states.push(&c.state);
        self.entries.push(big(c.entry));
        self.attempts.push(i64::from(c.attempt));
        let counters: Vec<String> = c.retries.iter().map(u32::to_string).collect();
        self.retries.push(format!("{{{}}}", counters.join(",")));
        self.waiting.push(c.waiting.as_deref());
        self.wake_at.push(c.wake_at.map(nanos));
        self.statuses.push(c.status.name());
        self.outputs.push(c.output.as_deref());
        self.error_names
            .push(c.error.as_ref().map(|e| e.name.as_str()));
        self.error_causes
            .push(c.error.as_ref().map(|e| e.cause.as_str()));
        self.state_names.push(&c.state_name);
        self.callbacks
            .push(c.callback.map(|callback| callback.encode()));
    }

    /// The columns, as statement parameters.
    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 11] {
        [
            &self.states,
            &self.entries,
            &self.attempts,
            &self.retries,
            &self.waiting,
            &self.wake_at,
            &self.statuses,
            &self.outputs,
            &self.error_names,
            &self.error_causes,
            &self.state_names,
        ]
    }
}
