//! The store, opened for reading, with lookups by name as the commands want.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use workflow_core::Definition;
use workflow_postgres::PostgresStore;
use workflow_runtime::store::{
    Filter, SqliteStore, Store, StoreError, StoredDefinition, StoredExecution,
};
use workflow_runtime::{Engine, EngineError, Event};

use crate::error::CliError;

/// The schema a PostgreSQL store is in unless `--schema` names another:
/// the one [`PostgresStore`] uses by default.
pub(crate) const DEFAULT_SCHEMA: &str = "workflow";

/// Where the store is, as `--db` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Db {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl Db {
    /// `--db`: a URL with a PostgreSQL scheme, or else a SQLite file's path.
    pub(crate) fn parse(value: &str) -> Result<Db, String> {
        if value.is_empty() {
            return Err("name a SQLite file or a postgres:// URL".to_owned());
        }
        let postgres = ["postgres://", "postgresql://"].iter().any(|scheme| {
            value
                .get(..scheme.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
        });
        Ok(if postgres {
            Db::Postgres(value.to_owned())
        } else {
            Db::Sqlite(PathBuf::from(value))
        })
    }
}

/// A store, as messages name it: a file's path, or a URL without its
/// password and the schema.
#[derive(Debug, Clone)]
pub(crate) struct Label(String);

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A store that exists and opened, behind an engine that drives nothing
/// (the CLI registers no workflows), for the reads and for purges.
pub(crate) struct Opened {
    label: Label,
    engine: Engine<()>,
}

impl Opened {
    /// Opens the store `db` names, which must exist: opening a missing
    /// file would create an empty store and show nothing, silently, and
    /// connecting to a missing schema would create it.
    pub(crate) async fn open(db: &Db, schema: Option<&str>) -> Result<Opened, CliError> {
        let builder = Engine::builder(()).client_only();
        match db {
            Db::Sqlite(path) => {
                if schema.is_some() {
                    return Err(CliError::SchemaWithSqlite(path.clone()));
                }
                let label = Label(format!("`{}`", path.display()));
                if !path.is_file() {
                    return Err(CliError::NoStore(path.clone()));
                }
                let store = SqliteStore::open(path).map_err(|source| CliError::Store {
                    store: label.clone(),
                    source,
                })?;
                Ok(Opened {
                    label,
                    engine: builder.store(store).build(),
                })
            }
            Db::Postgres(url) => {
                let schema = schema.unwrap_or(DEFAULT_SCHEMA);
                let label = Label(format!("`{}` (schema `{schema}`)", redacted(url)));
                let store = PostgresStore::builder(url.clone())
                    .schema(schema)
                    // One command at a time: a connection or two is plenty.
                    .pool_size(2)
                    .existing_only(true)
                    .connect()
                    .await
                    .map_err(|source| CliError::Store {
                        store: label.clone(),
                        source,
                    })?;
                Ok(Opened {
                    label,
                    engine: builder.store(store).build(),
                })
            }
        }
    }

    fn failed(&self, source: StoreError) -> CliError {
        CliError::Store {
            store: self.label.clone(),
            source,
        }
    }

    fn store(&self) -> &dyn Store {
        self.engine.store()
    }

    /// Deletes the executions that ended more than `older_than` ago, with
    /// their histories; how many.
    pub(crate) async fn purge(&self, older_than: Duration) -> Result<u64, CliError> {
        self.engine
            .purge(older_than)
            .await
            .map_err(|error| match error {
                EngineError::Store(source) => self.failed(source),
                other => CliError::Engine(other),
            })
    }

    pub(crate) async fn list(&self, filter: Filter) -> Result<Vec<StoredExecution>, CliError> {
        self.store().list(filter).await.map_err(|e| self.failed(e))
    }

    /// The execution with this id or, failing that, this name.
    pub(crate) async fn execution(&self, id_or_name: &str) -> Result<StoredExecution, CliError> {
        if let Some(found) = self
            .store()
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
        self.store().history(id).await.map_err(|e| self.failed(e))
    }

    pub(crate) async fn definitions(&self) -> Result<Vec<StoredDefinition>, CliError> {
        self.store().definitions().await.map_err(|e| self.failed(e))
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

/// A URL as messages show it: its password (in the user part, or a
/// `password=` parameter) replaced by `***`.
fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_is_a_database_and_anything_else_a_file() {
        for url in [
            "postgres://u@h/db",
            "postgresql://u@h:5433/db?sslmode=disable",
            "POSTGRES://u@h/db",
        ] {
            assert_eq!(Db::parse(url), Ok(Db::Postgres(url.to_owned())));
        }
        for path in [
            "orders.db",
            "./postgres",
            "/tmp/postgres:/x.db",
            "postgres:/x",
        ] {
            assert_eq!(Db::parse(path), Ok(Db::Sqlite(PathBuf::from(path))));
        }
        assert!(Db::parse("").is_err());
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        for (url, shown) in [
            (
                "postgres://u:secret@h:5432/db",
                "postgres://u:***@h:5432/db",
            ),
            ("postgres://u:p@ss@h/db?x=1", "postgres://u:***@h/db?x=1"),
            (
                "postgresql://h/db?user=u&password=secret&sslmode=require",
                "postgresql://h/db?user=u&password=***&sslmode=require",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h", "postgres://h"),
        ] {
            assert_eq!(redacted(url), shown);
        }
    }
}
