//! The database thread: jobs in, one transaction per batch of them
//! (group commit), each job in a savepoint of its own, replies after the
//! COMMIT.

use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{Mode, SqliteStore, database};
use crate::store::{StoreError, StoreFuture};

/// The most jobs one transaction takes.
pub(super) const BATCH: usize = 512;

pub(super) type Reply = Box<dyn FnOnce(Option<&StoreError>) + Send>;
/// A job runs on the connection (or is told the batch could not begin),
/// and returns its reply with its own error, if it failed.
pub(super) type Job =
    Box<dyn FnOnce(Result<&Connection, &StoreError>) -> (Reply, Option<StoreError>) + Send>;

impl SqliteStore {
    /// Runs `f` on the database thread, inside the current batch's
    /// transaction and its own savepoint.
    ///
    /// On a current-thread tokio runtime the caller's thread waits for the
    /// reply instead of awaiting it. That runtime is what tokio's paused
    /// clock runs on, and there an `await` on another thread leaves the
    /// runtime idle, and an idle paused runtime jumps its clock to the next
    /// timer: a wait or a lease would expire while the database thread is
    /// still writing. Waiting here keeps virtual time where the engine is,
    /// so the store opened as in production gives exact timings in tests.
    /// The price, in a service on a current-thread runtime too: its one
    /// thread has one job in flight, so group commit only merges the jobs
    /// of other threads, and the thread waits out each write (up to the
    /// busy timeout if another process holds the file's write lock).
    /// A multi-thread runtime, the default of `#[tokio::main]`, awaits
    /// instead and keeps group commit whole.
    pub(super) fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        let waits_here = matches!(
            tokio::runtime::Handle::try_current().map(|runtime| runtime.runtime_flavor()),
            Ok(tokio::runtime::RuntimeFlavor::CurrentThread)
        );
        let (reply_to, reply) = if waits_here {
            let (tx, rx) = mpsc::sync_channel(1);
            (ReplyTo::Here(tx), Waiting::Here(rx))
        } else {
            let (tx, rx) = oneshot::channel();
            (ReplyTo::Later(tx), Waiting::Later(rx))
        };
        let job: Job = Box::new(move |connection| {
            let result = match connection {
                Ok(connection) => in_savepoint(connection, f),
                Err(error) => Err(error.clone()),
            };
            let failed = result.as_ref().err().cloned();
            let reply: Reply = Box::new(move |commit_error| {
                let result = match commit_error {
                    Some(error) => Err(error.clone()),
                    None => result,
                };
                reply_to.send(result);
            });
            (reply, failed)
        });
        let sent = match &self.mode {
            Mode::Thread(jobs) => jobs.send(job).map_err(|_| StoreError::Closed),
            Mode::Inline(connection) => {
                // A panic inside a job cannot leave the connection mid-way:
                // every job runs in a transaction that SQLite rolls back.
                let connection = connection
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                run_batch(&connection, vec![job]);
                Ok(())
            }
        };
        let result = match (sent, reply) {
            (Err(error), _) => Err(error),
            (Ok(()), Waiting::Here(rx)) => rx.recv().unwrap_or(Err(StoreError::Closed)),
            (Ok(()), Waiting::Later(rx)) => {
                return Box::pin(async move { rx.await.unwrap_or(Err(StoreError::Closed)) });
            }
        };
        Box::pin(std::future::ready(result))
    }
}

/// Where a job's reply goes: to a caller waiting on its thread, or to one
/// that awaits it.
pub(super) enum ReplyTo<T> {
    Here(mpsc::SyncSender<Result<T, StoreError>>),
    Later(oneshot::Sender<Result<T, StoreError>>),
}

impl<T> ReplyTo<T> {
    fn send(self, result: Result<T, StoreError>) {
        // The caller may have stopped waiting; nothing to do then.
        match self {
            ReplyTo::Here(tx) => drop(tx.send(result)),
            ReplyTo::Later(tx) => drop(tx.send(result)),
        }
    }
}

/// How the caller gets a job's reply.
pub(super) enum Waiting<T> {
    Here(mpsc::Receiver<Result<T, StoreError>>),
    Later(oneshot::Receiver<Result<T, StoreError>>),
}

/// The database thread: batches of jobs, one transaction each.
pub(super) fn serve(connection: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        run_batch(&connection, batch);
    }
}

/// Runs jobs in one transaction and replies to each once it is committed.
pub(super) fn run_batch(connection: &Connection, batch: Vec<Job>) {
    if let Err(error) = connection
        .execute_batch("BEGIN IMMEDIATE")
        .map_err(database)
    {
        for job in batch {
            let (reply, _) = job(Err(&error));
            reply(Some(&error));
        }
        return;
    }
    let mut replies = Vec::with_capacity(batch.len());
    let mut first_error = None;
    for job in batch {
        let (reply, failed) = job(Ok(connection));
        if first_error.is_none() {
            first_error = failed;
        }
        replies.push(reply);
    }
    // Some errors (a full disk, say) make SQLite roll the whole transaction
    // back on its own: then nothing of this batch was written, and every
    // caller must hear so, with the error that did it.
    let outcome = if connection.is_autocommit() {
        Err(first_error
            .unwrap_or_else(|| StoreError::Database("the transaction was rolled back".into())))
    } else {
        let committed = connection.execute_batch("COMMIT").map_err(database);
        if committed.is_err() {
            let _ = connection.execute_batch("ROLLBACK");
        }
        committed
    };
    for reply in replies {
        reply(outcome.as_ref().err());
    }
}

pub(super) fn in_savepoint<T>(
    connection: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    // Cached statements: every job of a batch opens and ends one, and
    // parsing them each time was a measurable share of a commit.
    connection
        .prepare_cached("SAVEPOINT job")
        .and_then(|mut savepoint| savepoint.execute([]))
        .map_err(database)?;
    let result = f(connection);
    let ended = if result.is_ok() {
        connection
            .prepare_cached("RELEASE job")
            .and_then(|mut release| release.execute([]))
            .map(drop)
    } else {
        connection.execute_batch("ROLLBACK TO job; RELEASE job")
    };
    // If SQLite already rolled the transaction back (a full disk does),
    // the savepoint is gone too; the job's own error is the one to report.
    match (result, ended) {
        (Err(error), _) => Err(error),
        (Ok(value), Ok(())) => Ok(value),
        (Ok(_), Err(error)) => Err(database(error)),
    }
}
