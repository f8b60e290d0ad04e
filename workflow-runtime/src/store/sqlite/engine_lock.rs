//! One engine per file: the process that first creates or claims an
//! execution in a SQLite file holds a lock on it until its store is
//! dropped or its engine stops, and a second engine (another process, or another store on the
//! same file) is refused with a clear error instead of taking over
//! executions that are still running.
//!
//! An embedded store has no leases that expire: recovery takes over every
//! running execution, because the process that ran them is assumed gone.
//! The lock makes that assumption true. Reading (the CLI's `list`,
//! `history`, `show`) takes no lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::store::StoreError;

/// The lock of one store, taken at its first write of executions.
#[derive(Debug)]
pub(super) struct EngineLock {
    /// The lock file beside the database; `None` for a database in memory,
    /// which no one else can open.
    path: Option<PathBuf>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The locked file, while this store holds the lock.
    held: Option<File>,
    /// The engine stopped and no other started since: a write that was
    /// already under way when it stopped (a claim of its timer loop on
    /// another thread) must not take the lock again.
    stopped: bool,
}

impl EngineLock {
    /// The lock for the database at `database`.
    pub(super) fn for_database(database: &Path) -> EngineLock {
        let in_memory = database.as_os_str().is_empty() || database == Path::new(":memory:");
        let path = (!in_memory).then(|| {
            let mut name = database.as_os_str().to_owned();
            name.push("-engine.lock");
            PathBuf::from(name)
        });
        EngineLock {
            path,
            state: Mutex::default(),
        }
    }

    /// A lock for a database no other store can open.
    pub(super) fn none() -> EngineLock {
        EngineLock {
            path: None,
            state: Mutex::default(),
        }
    }

    /// Takes the lock if this store does not hold it yet.
    ///
    /// # Errors
    ///
    /// [`StoreError::Locked`] if another store holds it, naming the file
    /// and what to do; [`StoreError::Closed`] if the engine stopped;
    /// [`StoreError::Database`] if the lock file cannot be opened.
    pub(super) fn hold(&self) -> Result<(), StoreError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        // Held while the file is locked, so two threads of this store do
        // not lock it through two descriptors (the second would fail).
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.stopped {
            return Err(StoreError::Closed);
        }
        if state.held.is_some() {
            return Ok(());
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| {
                StoreError::Database(format!("cannot open the lock file {}: {e}", path.display()))
            })?;
        match file.try_lock() {
            Ok(()) => {
                state.held = Some(file);
                Ok(())
            }
            Err(TryLockError::WouldBlock) => Err(StoreError::Locked(format!(
                "another engine drives the executions in this file (it holds {}): \
                 an embedded store runs one engine at a time; stop the other one, \
                 or use the PostgreSQL store for many workers",
                path.display()
            ))),
            Err(TryLockError::Error(e)) => Err(StoreError::Database(format!(
                "cannot lock {}: {e}",
                path.display()
            ))),
        }
    }

    /// Lets the lock go (the engine stopped), and refuses to take it
    /// again until [`reopen`](Self::reopen).
    pub(super) fn release(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.stopped = true;
        // Dropping the file unlocks it.
        state.held = None;
    }

    /// An engine started on the store: its creates and claims take the
    /// lock again.
    pub(super) fn reopen(&self) {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stopped = false;
    }
}
