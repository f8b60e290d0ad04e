//! WAL checkpoints off the commit path. A checkpoint copies the write-ahead
//! log back into the database file and syncs it; by default the connection
//! that commits runs one itself once the log passes 1,000 pages, so the
//! commit that lands on it (and, with group commit, every job of its batch)
//! waits for the copy and the sync: about 15 ms on the benchmark's machine,
//! against 0.3 ms for a commit, which made the SQLite store's p99 latency.
//!
//! Here a thread of its own, with a connection of its own, checkpoints once
//! the log passes [`Limits::nudge`] pages, while commits go on. SQLite
//! starts the log over only when a writer finds it wholly copied, which a
//! writer that commits during every checkpoint may never find: past
//! [`Limits::copy_here`] pages the committing connection checkpoints
//! itself, which then copies only what the thread has not, so the log
//! stays bounded.

use std::ffi::c_int;
use std::path::Path;
use std::sync::mpsc;

use rusqlite::Connection;
use rusqlite::hooks::Wal;
use rusqlite::wal::CheckpointMode;

use super::database;
use crate::store::StoreError;

/// When the log is checkpointed, in pages.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// The checkpointer is woken (SQLite's own default threshold).
    pub(super) nudge: c_int,
    /// The committing connection copies the rest itself.
    pub(super) copy_here: c_int,
}

impl Limits {
    pub(super) const DEFAULT: Limits = Limits {
        nudge: 1_000,
        copy_here: 10_000,
    };
}

/// What a commit that leaves `pages` pages in the log does.
#[derive(Debug, PartialEq, Eq)]
enum OnCommit {
    Nothing,
    /// Wakes the checkpointer.
    Nudge,
    /// Checkpoints on the committing connection.
    CopyHere,
}

fn on_commit(pages: c_int, limits: Limits) -> OnCommit {
    if pages >= limits.copy_here {
        OnCommit::CopyHere
    } else if pages >= limits.nudge {
        OnCommit::Nudge
    } else {
        OnCommit::Nothing
    }
}

/// Moves `writer`'s checkpoints to a thread with a connection of its own
/// to the database at `path`. The thread ends when `writer` is closed.
///
/// # Errors
///
/// [`StoreError::Database`] if the thread's connection cannot be opened or
/// the thread cannot start; `writer` then checkpoints itself, as before.
pub(super) fn start(
    writer: &mut Connection,
    path: &Path,
    limits: Limits,
) -> Result<(), StoreError> {
    let connection = Connection::open(path).map_err(database)?;
    connection
        .busy_timeout(std::time::Duration::from_secs(5))
        .map_err(database)?;
    // A checkpoint reads the log and writes the file, past the page cache:
    // a small cache keeps the thread's memory small.
    connection
        .pragma_update(None, "cache_size", -64)
        .map_err(database)?;
    // One nudge waiting is enough: a checkpoint copies all there is.
    let (nudge, nudged) = mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("workflow-sqlite-checkpoint".into())
        .spawn(move || {
            while nudged.recv().is_ok() {
                // A failed checkpoint (the disk is full, say) leaves the log
                // as it is; the next nudge tries again.
                if let Err(error) = checkpoint(&connection) {
                    tracing::debug!(%error, "a background checkpoint failed");
                }
            }
        })
        .map_err(|e| StoreError::Database(format!("cannot start the checkpoint thread: {e}")))?;
    // Replaces SQLite's automatic checkpoints, which are a hook too.
    writer
        .wal_hook(Some(move |wal: &mut Wal, pages: c_int| {
            match on_commit(pages, limits) {
                OnCommit::Nothing => {}
                OnCommit::Nudge => {
                    let _ = nudge.try_send(());
                }
                OnCommit::CopyHere => {
                    // An error here would fail a statement whose commit has
                    // happened; the log is copied at the next commit instead.
                    let _ = wal.checkpoint_v2(CheckpointMode::PASSIVE);
                }
            }
            Ok(())
        }))
        .map_err(database)
}

/// One passive checkpoint: it copies what it can without waiting for the
/// writer.
fn checkpoint(connection: &Connection) -> rusqlite::Result<()> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commits_nudge_past_the_first_limit_and_copy_past_the_second() {
        let limits = Limits {
            nudge: 10,
            copy_here: 100,
        };
        assert_eq!(on_commit(9, limits), OnCommit::Nothing);
        assert_eq!(on_commit(10, limits), OnCommit::Nudge);
        assert_eq!(on_commit(99, limits), OnCommit::Nudge);
        assert_eq!(on_commit(100, limits), OnCommit::CopyHere);
    }

    /// The log's length in frames, read from its file (32-byte header,
    /// then frames of a 24-byte header and a page each).
    fn wal_frames(path: &Path, page: u64) -> u64 {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let len = std::fs::metadata(wal).map_or(0, |m| m.len());
        len.saturating_sub(32) / (24 + page)
    }

    #[test]
    fn the_log_stays_bounded_while_commits_go_on() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("wal.db");
        let mut writer = Connection::open(&path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.execute_batch("CREATE TABLE t (x BLOB)")?;
        let limits = Limits {
            nudge: 20,
            copy_here: 200,
        };
        start(&mut writer, &path, limits)?;
        let page: i64 = writer.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        // About 10,000 pages in all, a page or two per commit.
        for _ in 0..5_000 {
            writer.execute("INSERT INTO t VALUES (zeroblob(?1))", [page / 2])?;
        }
        let page = u64::try_from(page)?;
        // The file is as long as the log ever was: with no checkpoint it
        // would hold every frame written.
        let frames = wal_frames(&path, page);
        assert!(
            frames <= 2 * limits.copy_here as u64,
            "{frames} frames in the log"
        );
        Ok(())
    }
}
