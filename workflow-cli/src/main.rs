//! `workflow`: reads a store that engines wrote, without the workflows' Rust
//! code, and shows what ran.
//!
//! ```text
//! workflow --db orders.db list --workflow Checkout --status Failed
//! workflow --db orders.db history order-3
//! workflow --db orders.db diagram --execution order-3 --format dot | dot -Tsvg > order-3.svg
//! workflow --db orders.db export Checkout > checkout.asl.json
//! workflow --db postgres://app@db.internal/app --schema orders list
//! workflow --db orders.db purge --older-than 30d
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod output;
mod store;

use std::process::ExitCode;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use workflow_runtime::Status;
use workflow_runtime::store::Filter;

use crate::error::CliError;
use crate::store::{Db, Opened};

/// Lists executions, shows their histories, draws and exports the
/// workflows they ran, and purges old ones, from a store written by
/// `workflow` engines: a SQLite file or a PostgreSQL database.
#[derive(Debug, Parser)]
#[command(name = "workflow", version)]
struct Cli {
    /// The store: a SQLite file's path, or a PostgreSQL database's
    /// `postgres://` (or `postgresql://`) URL. Required.
    #[arg(
        long,
        global = true,
        value_name = "FILE or URL",
        env = "WORKFLOW_DB",
        value_parser = Db::parse
    )]
    db: Option<Db>,
    /// The PostgreSQL schema the store is in. Default: `workflow`.
    #[arg(long, global = true, value_name = "NAME")]
    schema: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lists executions, newest first: the 20 most recent unless `--limit`
    /// or `--all` says otherwise, and how many more there are.
    List {
        /// Only executions of this workflow.
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        /// Only executions with this status.
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
        /// At most this many (the newest).
        #[arg(long, value_name = "N", default_value_t = DEFAULT_LIMIT,
              value_parser = clap::value_parser!(u64).range(1..))]
        limit: u64,
        /// Every execution that matches, however many.
        #[arg(long, conflicts_with = "limit")]
        all: bool,
    },
    /// Shows one execution's history as a timeline.
    History {
        /// The execution's id or name.
        execution: String,
    },
    /// Prints a workflow's state diagram, or the diagram of the workflow an
    /// execution ran with the path it took drawn over it.
    Diagram {
        /// The workflow's name.
        #[arg(required_unless_present = "execution", conflicts_with = "execution")]
        workflow: Option<String>,
        /// An execution's id or name: colour the states it visited.
        #[arg(long, value_name = "EXECUTION")]
        execution: Option<String>,
        /// The diagram's language.
        #[arg(long, value_enum, default_value_t = DiagramFormat::Mermaid)]
        format: DiagramFormat,
    },
    /// Exports a workflow's definition.
    Export {
        /// The workflow's name.
        workflow: String,
        /// Which version (as `workflows` lists them); the latest by default.
        #[arg(long)]
        version: Option<String>,
        /// The document's language.
        #[arg(long, value_enum, default_value_t = ExportFormat::Asl)]
        format: ExportFormat,
    },
    /// Lists the workflows whose definitions the store keeps.
    Workflows,
    /// Deletes the executions that ended longer ago than an age, with their
    /// histories, in batches; running executions stay.
    Purge {
        /// How long ago an execution must have ended: `30d`, `12h`, `90m`,
        /// `1h 30m`...
        #[arg(long, value_name = "AGE", value_parser = Age::parse)]
        older_than: Age,
    },
}

/// An age as given on the command line (to repeat it), and as a duration.
#[derive(Debug, Clone)]
struct Age {
    text: String,
    duration: Duration,
}

impl Age {
    fn parse(text: &str) -> Result<Age, String> {
        let duration = humantime::parse_duration(text)
            .map_err(|e| format!("{e} (expected an age such as 30d, 12h or 90m)"))?;
        Ok(Age {
            text: text.to_owned(),
            duration,
        })
    }
}

/// A diagram's language.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum DiagramFormat {
    /// Mermaid `stateDiagram-v2`.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// An export's language.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// Amazon States Language JSON.
    Asl,
    /// The definition as this library serializes it.
    Json,
    /// Mermaid `stateDiagram-v2`.
    Mermaid,
    /// Graphviz DOT.
    Dot,
}

/// How many executions `list` shows unless told: a screenful.
const DEFAULT_LIMIT: u64 = 20;

fn parse_status(name: &str) -> Result<Status, String> {
    const ALL: [Status; 5] = [
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::TimedOut,
        Status::Aborted,
    ];
    ALL.into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            let names: Vec<_> = ALL.iter().map(|s| s.name()).collect();
            format!("expected one of {}", names.join(", "))
        })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(db) = cli.db.clone() else {
        Cli::command()
            .error(
                ErrorKind::MissingRequiredArgument,
                "name the store with --db <FILE or URL> (or WORKFLOW_DB)",
            )
            .exit()
    };
    // With the I/O driver, which the PostgreSQL client needs.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&db, cli)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command; what it prints.
async fn run(db: &Db, cli: Cli) -> Result<String, CliError> {
    let store = Opened::open(db, cli.schema.as_deref()).await?;
    match cli.command {
        Command::List {
            workflow,
            status,
            limit,
            all,
        } => {
            let mut executions = store.list(Filter { workflow, status }).await?;
            // Newest first, so that a limit keeps what was just run.
            executions.sort_by(|a, b| {
                (b.started_at, &b.name, &b.id).cmp(&(a.started_at, &a.name, &a.id))
            });
            let shown = if all {
                executions.len()
            } else {
                usize::try_from(limit)
                    .unwrap_or(usize::MAX)
                    .min(executions.len())
            };
            let more = executions.len() - shown;
            executions.truncate(shown);
            Ok(output::executions(&executions, more))
        }
        Command::History { execution } => {
            let execution = store.execution(&execution).await?;
            let history = store.history(&execution.id).await?;
            Ok(output::history(&execution, &history))
        }
        Command::Diagram {
            workflow,
            execution,
            format,
        } => {
            let (definition, overlay) = match (workflow, execution) {
                (_, Some(execution)) => {
                    let execution = store.execution(&execution).await?;
                    let definition = store
                        .definition(&execution.workflow, Some(&execution.version))
                        .await?;
                    let history = store.history(&execution.id).await?;
                    (definition, Some(workflow_runtime::overlay(&history)))
                }
                (Some(workflow), None) => (store.definition(&workflow, None).await?, None),
                (None, None) => return Err(CliError::NothingToDraw),
            };
            Ok(match (format, overlay) {
                (DiagramFormat::Mermaid, None) => definition.to_mermaid(),
                (DiagramFormat::Mermaid, Some(overlay)) => definition.to_mermaid_overlay(&overlay),
                (DiagramFormat::Dot, None) => definition.to_dot(),
                (DiagramFormat::Dot, Some(overlay)) => definition.to_dot_overlay(&overlay),
            })
        }
        Command::Export {
            workflow,
            version,
            format,
        } => {
            let definition = store.definition(&workflow, version.as_deref()).await?;
            Ok(match format {
                ExportFormat::Asl => {
                    let children = store.children_of(&definition).await?;
                    let children: Vec<_> = children.iter().collect();
                    output::json(&definition.to_asl(&children))?
                }
                ExportFormat::Json => output::json(&definition)?,
                ExportFormat::Mermaid => definition.to_mermaid(),
                ExportFormat::Dot => definition.to_dot(),
            })
        }
        Command::Workflows => Ok(output::definitions(&store.definitions().await?)),
        Command::Purge { older_than } => {
            let purged = store.purge(older_than.duration).await?;
            Ok(output::purged(purged, &older_than.text))
        }
    }
}
