//! `workflow`: reads a store that engines wrote, without the workflows' Rust
//! code, and shows what ran.
//!
//! ```text
//! workflow --db orders.db list --workflow Checkout --status Failed
//! workflow --db orders.db history order-3
//! workflow --db orders.db diagram --execution order-3 --format dot | dot -Tsvg > order-3.svg
//! workflow --db orders.db export Checkout > checkout.asl.json
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod error;
mod output;
mod store;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use workflow_runtime::Status;
use workflow_runtime::store::Filter;

use crate::error::CliError;
use crate::store::Opened;

/// Lists executions, shows their histories, and draws and exports the
/// workflows they ran, from a SQLite store written by a `workflow` engine.
#[derive(Debug, Parser)]
#[command(name = "workflow", version)]
struct Cli {
    /// The SQLite store's file.
    #[arg(long, value_name = "FILE", env = "WORKFLOW_DB")]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lists executions, oldest first.
    List {
        /// Only executions of this workflow.
        #[arg(long, value_name = "NAME")]
        workflow: Option<String>,
        /// Only executions with this status.
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
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
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start a runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
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
async fn run(cli: Cli) -> Result<String, CliError> {
    let store = Opened::open(&cli.db)?;
    match cli.command {
        Command::List { workflow, status } => {
            let executions = store.list(Filter { workflow, status }).await?;
            Ok(output::executions(&executions))
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
    }
}
