//! What can go wrong, each with a message that says what to do.

use std::path::PathBuf;

use workflow_runtime::EngineError;
use workflow_runtime::store::StoreError;

use crate::store::Label;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The store's file is not there; opening it would create an empty one.
    #[error("no store at `{}`: the file does not exist", .0.display())]
    NoStore(PathBuf),
    /// `--schema` with a SQLite file, which has no schemas.
    #[error(
        "--schema names a PostgreSQL schema, and `{}` is a SQLite file: give --db a \
         postgres:// URL, or leave --schema out",
        .0.display()
    )]
    SchemaWithSqlite(PathBuf),
    /// The store could not be opened, refused or failed.
    #[error("the store at {store}: {source}")]
    Store {
        /// The store, as messages name it.
        store: Label,
        /// What it said.
        source: StoreError,
    },
    /// The engine refused (never for the commands there are; kept typed
    /// rather than unwrapped).
    #[error(transparent)]
    Engine(EngineError),
    /// No execution has this id or name.
    #[error("no execution with id or name `{0}` in this store (`workflow list` shows them)")]
    UnknownExecution(String),
    /// No definition of this workflow is kept.
    #[error("no workflow named `{name}` in this store; it keeps {known}")]
    UnknownWorkflow {
        /// The name asked for.
        name: String,
        /// The names it does keep, for the message.
        known: String,
    },
    /// The workflow is kept, but not in this version.
    #[error("workflow `{name}` has no version `{version}` in this store; it has {known}")]
    UnknownVersion {
        /// The workflow.
        name: String,
        /// The version asked for.
        version: String,
        /// The versions kept, for the message.
        known: String,
    },
    /// A kept definition that does not parse.
    #[error("the stored definition of `{name}` version `{version}` is not readable: {detail}")]
    CorruptDefinition {
        /// The workflow.
        name: String,
        /// Its version.
        version: String,
        /// The parser's complaint.
        detail: String,
    },
    /// Output that could not be written as JSON.
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// `diagram` with neither a workflow nor an execution (clap prevents it).
    #[error("name a workflow, or an execution with --execution")]
    NothingToDraw,
}
