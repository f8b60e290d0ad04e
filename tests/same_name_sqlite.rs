//! Workflows of one name in two modules (`same_name/suite.rs`) on SQLite:
//! a file that a second store opens as a restarted process would.

use std::path::PathBuf;

use workflow::store::SqliteStore;

/// A database file in a directory of its own.
struct Place {
    _dir: tempfile::TempDir,
    file: PathBuf,
}

fn place() -> Place {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wf.db");
    Place { _dir: dir, file }
}

fn open(place: &Place) -> SqliteStore {
    SqliteStore::open(&place.file).expect("the test database")
}

/// Clears every execution's path, behind the store's back.
fn forget_paths(place: &Place) {
    let raw = rusqlite::Connection::open(&place.file).unwrap();
    raw.execute("UPDATE executions SET workflow_path = NULL", [])
        .unwrap();
}

include!("same_name/suite.rs");
