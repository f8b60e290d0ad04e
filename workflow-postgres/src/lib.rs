//! The PostgreSQL store of `workflow`: any number of processes on any
//! number of machines share one database.
//!
//! [`PostgresStore`] implements the runtime's
//! [`Store`](workflow_runtime::store::Store) on `tokio-postgres` with a
//! `deadpool-postgres` pool:
//!
//! - executions are claimed with `FOR UPDATE SKIP LOCKED`, each claim
//!   bumping the execution's fence; every write names the fence it holds,
//!   and a stale one changes nothing and fails with
//!   [`StoreError::Fenced`];
//! - a start is idempotent by name across processes through a unique
//!   constraint, not a check-then-insert;
//! - starts, parks and callback answers `NOTIFY` the store's channel in
//!   their transaction, and [`Store::wake_up`]
//!   completes when one arrives, from any process;
//! - the schema is versioned in code and migrated under an advisory lock,
//!   so ten workers starting at once migrate once; its name is
//!   configurable, so two applications can share a database.
//!
//! ```no_run
//! # async fn connect() -> Result<(), workflow_runtime::store::StoreError> {
//! use workflow_postgres::PostgresStore;
//!
//! let store = PostgresStore::builder("postgres://app@db.internal/app")
//!     .schema("orders_workflows")
//!     .pool_size(16)
//!     .connect()
//!     .await?;
//! # let _ = store; Ok(()) }
//! ```
//!
//! [`StoreError::Fenced`]: workflow_runtime::store::StoreError::Fenced
//! [`Store::wake_up`]: workflow_runtime::store::Store::wake_up

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(clippy::missing_errors_doc)]

mod batches;
mod children;
mod commits;
mod io;
mod listen;
mod pending;
mod rows;
mod schema;
mod sql;
mod starts;
mod store;

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio_postgres::NoTls;
use workflow_runtime::store::{StoreError, Transition};

use crate::batches::Batches;
pub use crate::batches::GroupedWrites;
use crate::io::{Io, Thread};
use crate::rows::{database, pool};
use crate::starts::Start;

/// Executions in one PostgreSQL schema, shared by every process that
/// connects to it.
#[derive(Debug)]
pub struct PostgresStore {
    shared: Arc<Shared>,
    io: Io,
    /// The wake-up listener, stopped with the store.
    listener: AbortHandle,
    /// The queues of group commits and group starts.
    commits: Arc<Batches<Transition>>,
    starts: Arc<Batches<Start>>,
}

/// What every operation needs, moved into its future.
#[derive(Debug)]
struct Shared {
    pool: Pool,
    /// The schema's name, quoted, spliced into every statement.
    schema: String,
    /// The channel writers NOTIFY on.
    channel: String,
    /// A permit per notification heard.
    woken: Arc<Notify>,
    /// The statements, for this schema.
    sql: sql::Sql,
    /// How long an operation is retried while the database is unavailable.
    retry_for: Duration,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

/// Sets up a [`PostgresStore`].
#[derive(Debug, Clone)]
pub struct PostgresStoreBuilder {
    url: String,
    schema: String,
    pool_size: usize,
    blocking: bool,
    retry_for: Duration,
    application_name: String,
    existing_only: bool,
    commits_in_flight: usize,
}

impl PostgresStore {
    /// A builder for the database at `url` (`postgres://user@host:port/db`
    /// or the `host=... user=...` form), with the schema `workflow` and a
    /// pool of 16 connections.
    pub fn builder(url: impl Into<String>) -> PostgresStoreBuilder {
        PostgresStoreBuilder {
            url: url.into(),
            schema: "workflow".into(),
            pool_size: 16,
            blocking: false,
            retry_for: Duration::from_secs(60),
            application_name: "workflow".into(),
            existing_only: false,
            commits_in_flight: 4,
        }
    }

    /// Connects to the database at `url` with the default settings.
    ///
    /// # Errors
    ///
    /// As [`PostgresStoreBuilder::connect`].
    pub async fn connect(url: impl Into<String>) -> Result<PostgresStore, StoreError> {
        PostgresStore::builder(url).connect().await
    }

    /// The schema the store keeps its tables in.
    pub fn schema(&self) -> &str {
        self.shared.schema.trim_matches('"')
    }

    /// The schema version this library writes.
    pub fn schema_version() -> i64 {
        schema::supported()
    }

    /// How this store's commits were grouped so far: how many statements
    /// carried how many transitions (see
    /// [`PostgresStoreBuilder::commits_in_flight`]).
    pub fn group_commits(&self) -> GroupedWrites {
        self.commits.counts()
    }

    /// How this store's starts were grouped so far: how many statements
    /// created (or found) how many executions.
    pub fn group_starts(&self) -> GroupedWrites {
        self.starts.counts()
    }
}

impl PostgresStoreBuilder {
    /// The schema to keep the tables in (created if missing): a plain
    /// lowercase identifier. Default: `workflow`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The most connections the store opens at once, besides the one that
    /// listens for wake-ups. Default: 16.
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// The `application_name` the store's connections show in
    /// `pg_stat_activity`, unless the URL names one. Default: `workflow`.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// How long an operation is retried, with backoff, while the database
    /// cannot be reached (a restart, a dropped network) before it fails
    /// with [`StoreError::Unavailable`]. Default: 60 s. A worker's writes
    /// that fail so are not lost: the execution stays at its last
    /// checkpoint, and its lease expires for a worker to go on.
    pub fn retry_unavailable_for(mut self, period: Duration) -> Self {
        self.retry_for = period;
        self
    }

    /// How many group commits may be on their way to the database at once,
    /// and as many group starts. Default: 4.
    ///
    /// Every transition this store commits joins a queue; a batch is what
    /// queued while the batches before it were written (up to 256
    /// transitions), written as one statement in one transaction. Starts
    /// are grouped the same way, in a queue of their own. Fewer batches in
    /// flight make larger batches and fewer round trips, more make a lone
    /// transition wait less behind others. Each batch in flight holds one
    /// of the pool's connections.
    pub fn commits_in_flight(mut self, batches: usize) -> Self {
        self.commits_in_flight = batches.max(1);
        self
    }

    /// Runs every operation on a thread of the store's own and blocks the
    /// caller until it is done, instead of awaiting the network on the
    /// caller's runtime.
    ///
    /// For tests on tokio's paused clock (`#[tokio::test(start_paused =
    /// true)]`): there, a runtime that awaits the network is idle, and an
    /// idle paused runtime jumps its clock to the next timer, so waits,
    /// timeouts and history timestamps come out wrong. Never use it in a
    /// service: it blocks a runtime thread per operation.
    pub fn blocking_io(mut self, blocking: bool) -> Self {
        self.blocking = blocking;
        self
    }

    /// Opens only a store that exists: [`connect`](Self::connect) then
    /// fails with [`StoreError::Config`] when the database has no such
    /// schema, or the schema holds no store, instead of creating it (and
    /// runs no `CREATE SCHEMA`, which needs a privilege a reader may not
    /// have). For tools that read what engines wrote, such as the
    /// `workflow` command, where a mistyped schema name should be an error
    /// rather than a new, empty store. A store of an older schema version
    /// is still brought up to date. Default: `false`.
    pub fn existing_only(mut self, existing_only: bool) -> Self {
        self.existing_only = existing_only;
        self
    }

    /// Connects, brings the schema up to date and starts listening for
    /// wake-ups.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] for an unparsable URL or a schema name that
    /// is not a plain identifier, or, with
    /// [`existing_only`](Self::existing_only), a schema that does not exist
    /// or holds no store; [`StoreError::Unavailable`] when the server
    /// cannot be reached, [`StoreError::NewerSchema`] when a newer version
    /// of this library migrated the schema.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        if self.blocking {
            return self.connect_blocking();
        }
        let (config, quoted) = self.parse()?;
        migrate(config.clone(), &self.schema, self.existing_only).await?;
        finish(&self, config, quoted, Io::Caller)
    }

    /// [`connect`](Self::connect) with [`blocking_io`](Self::blocking_io),
    /// from code that is not async (a test's store factory, say).
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    pub fn connect_blocking(self) -> Result<PostgresStore, StoreError> {
        let thread = Thread::start()?;
        let (config, quoted) = self.parse()?;
        let migrated = {
            let config = config.clone();
            let schema = self.schema.clone();
            let existing_only = self.existing_only;
            thread.block_on(async move { migrate(config, &schema, existing_only).await })
        };
        migrated?;
        let io = Io::Blocking(thread);
        finish(&self, config, quoted, io)
    }

    fn parse(&self) -> Result<(tokio_postgres::Config, String), StoreError> {
        let mut config: tokio_postgres::Config = self.url.parse().map_err(|e| {
            StoreError::Config(format!(
                "cannot parse the PostgreSQL URL `{}`: {e}",
                self.url
            ))
        })?;
        if config.get_application_name().is_none() {
            config.application_name(&self.application_name);
        }
        let quoted = schema::quoted(&self.schema)?;
        Ok((config, quoted))
    }
}

/// Connects once to migrate the schema (and, with `existing_only`, to
/// check that there is a store to migrate).
async fn migrate(
    config: tokio_postgres::Config,
    schema: &str,
    existing_only: bool,
) -> Result<(), StoreError> {
    let (client, connection) = config.connect(NoTls).await.map_err(database)?;
    let driver = tokio::spawn(connection);
    let migrated = schema::migrate(&client, schema, existing_only).await;
    drop(client);
    let _ = driver.await;
    migrated
}

/// The store, once its schema is up to date: the pool and the listener.
fn finish(
    settings: &PostgresStoreBuilder,
    config: tokio_postgres::Config,
    quoted: String,
    io: Io,
) -> Result<PostgresStore, StoreError> {
    let manager = Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    let pool = Pool::builder(manager)
        .max_size(settings.pool_size)
        .build()
        .map_err(|e| StoreError::Config(format!("cannot build the connection pool: {e}")))?;
    let channel = listen::channel(&settings.schema);
    let woken = Arc::new(Notify::new());
    let listener = io.spawn(listen::listen(config, channel.clone(), Arc::clone(&woken)))?;
    let shared = Arc::new(Shared {
        pool,
        sql: sql::Sql::new(&quoted),
        schema: quoted,
        channel,
        woken,
        retry_for: settings.retry_for,
    });
    let in_flight = settings.commits_in_flight;
    let commits = Batches::start(Arc::clone(&shared), &io, in_flight)?;
    let starts = Batches::start(Arc::clone(&shared), &io, in_flight)?;
    Ok(PostgresStore {
        shared,
        io,
        listener,
        commits: Arc::new(commits),
        starts: Arc::new(starts),
    })
}

impl Shared {
    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(pool)
    }
}
