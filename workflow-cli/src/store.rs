//! The store, opened for reading, with lookups by name as the commands want.

use std::path::{Path, PathBuf};

use workflow_core::Definition;
use workflow_runtime::Event;
use workflow_runtime::store::{
    Filter, SqliteStore, Store, StoreError, StoredDefinition, StoredExecution,
};

use crate::error::CliError;

/// A store file that exists and opened.
pub(crate) struct Opened {
    path: PathBuf,
    store: SqliteStore,
}

impl Opened {
    /// Opens the store at `path`, which must exist: opening a missing file
    /// would create an empty store and show nothing, silently.
    pub(crate) fn open(path: &Path) -> Result<Opened, CliError> {
        if !path.is_file() {
            return Err(CliError::NoStore(path.to_owned()));
        }
        let store = SqliteStore::open(path).map_err(|source| CliError::Store {
            path: path.to_owned(),
            source,
        })?;
        Ok(Opened {
            path: path.to_owned(),
            store,
        })
    }

    fn failed(&self, source: StoreError) -> CliError {
        CliError::Store {
            path: self.path.clone(),
            source,
        }
    }

    pub(crate) async fn list(&self, filter: Filter) -> Result<Vec<StoredExecution>, CliError> {
        self.store.list(filter).await.map_err(|e| self.failed(e))
    }

    /// The execution with this id or, failing that, this name.
    pub(crate) async fn execution(&self, id_or_name: &str) -> Result<StoredExecution, CliError> {
        if let Some(found) = self
            .store
            .execution(id_or_name)
            .await
            .map_err(|e| self.failed(e))?
        {
            return Ok(found);
        }
        self.list(Filter::default())
            .await?
            .into_iter()
            .find(|e| e.name == id_or_name)
            .ok_or_else(|| CliError::UnknownExecution(id_or_name.to_owned()))
    }

    pub(crate) async fn history(&self, id: &str) -> Result<Vec<Event>, CliError> {
        self.store.history(id).await.map_err(|e| self.failed(e))
    }

    pub(crate) async fn definitions(&self) -> Result<Vec<StoredDefinition>, CliError> {
        self.store.definitions().await.map_err(|e| self.failed(e))
    }

    /// The definition of `name` in `version`, or its latest kept version.
    pub(crate) async fn definition(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Definition, CliError> {
        let kept = self.definitions().await?;
        find(&kept, name, version)
    }

    /// The definitions of the workflows `definition` runs as branches and
    /// map items, and theirs in turn, each in its latest kept version. One
    /// the store does not keep is left out: the export stands in for it.
    pub(crate) async fn children_of(
        &self,
        definition: &Definition,
    ) -> Result<Vec<Definition>, CliError> {
        let kept = self.definitions().await?;
        let mut found: Vec<Definition> = Vec::new();
        let mut to_visit: Vec<String> = definition.child_workflows().map(str::to_owned).collect();
        while let Some(name) = to_visit.pop() {
            if found.iter().any(|d| d.name == name) {
                continue;
            }
            match find(&kept, &name, None) {
                Ok(child) => {
                    to_visit.extend(child.child_workflows().map(str::to_owned));
                    found.push(child);
                }
                Err(CliError::UnknownWorkflow { .. }) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(found)
    }
}

/// Finds and parses a kept definition: `version`, or the latest.
fn find(
    kept: &[StoredDefinition],
    name: &str,
    version: Option<&str>,
) -> Result<Definition, CliError> {
    let versions: Vec<&StoredDefinition> = kept.iter().filter(|d| d.workflow == name).collect();
    if versions.is_empty() {
        let mut names: Vec<&str> = kept.iter().map(|d| d.workflow.as_str()).collect();
        names.dedup();
        let known = if names.is_empty() {
            "none (it was written before definitions were kept, or no execution ever started)"
                .to_owned()
        } else {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(CliError::UnknownWorkflow {
            name: name.to_owned(),
            known,
        });
    }
    let chosen = match version {
        None => versions.last().copied(),
        Some(version) => versions.iter().copied().find(|d| d.version == version),
    };
    let Some(chosen) = chosen else {
        return Err(CliError::UnknownVersion {
            name: name.to_owned(),
            version: version.unwrap_or_default().to_owned(),
            known: versions
                .iter()
                .map(|d| format!("`{}`", d.version))
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    serde_json::from_str(&chosen.definition).map_err(|error| CliError::CorruptDefinition {
        name: name.to_owned(),
        version: chosen.version.clone(),
        detail: error.to_string(),
    })
}
