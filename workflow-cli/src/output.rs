//! What the commands print: aligned tables, timelines and JSON.

use std::time::SystemTime;

use workflow_runtime::Event;
use workflow_runtime::store::{StoredDefinition, StoredExecution};

use crate::error::CliError;

/// Rows under a header, each column as wide as its widest cell.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (cell, width) in cells.zip(&widths) {
            out.push_str(&format!("{cell:<width$}  "));
        }
        format!("{}\n", out.trim_end())
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

fn time(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

/// `list`: one row per execution, then how many more matched when a
/// limit left `more` out.
pub(crate) fn executions(executions: &[StoredExecution], more: usize) -> String {
    if executions.is_empty() {
        return "no executions\n".to_owned();
    }
    let rows: Vec<Vec<String>> = executions
        .iter()
        .map(|e| {
            vec![
                e.id.clone(),
                e.name.clone(),
                e.workflow.clone(),
                e.checkpoint.status.name().to_owned(),
                e.checkpoint.state_name.clone(),
                time(e.started_at),
                e.stopped_at.map(time).unwrap_or_else(|| "-".to_owned()),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "ID", "NAME", "WORKFLOW", "STATUS", "STATE", "STARTED", "STOPPED",
        ],
        &rows,
    );
    if more > 0 {
        let total = executions.len() + more;
        out.push_str(&format!(
            "... and {more} older (show them with --limit {total} or --all)\n"
        ));
    }
    out
}

/// `history`: a summary of the execution, then its timeline. The summary
/// names the workflow by its name and, when the execution was stored with
/// one, its path (which tells workflows of one name apart).
pub(crate) fn history(execution: &StoredExecution, history: &[Event]) -> String {
    let path = match &execution.path {
        Some(path) => format!("{path}, "),
        None => String::new(),
    };
    let mut out = format!(
        "{} ({}) of {} ({path}version {}): {} in {}\nstarted {}",
        execution.name,
        execution.id,
        execution.workflow,
        execution.version,
        execution.checkpoint.status.name(),
        execution.checkpoint.state_name,
        time(execution.started_at),
    );
    if let Some(stopped) = execution.stopped_at {
        out.push_str(&format!(", stopped {}", time(stopped)));
    }
    out.push('\n');
    if let Some(error) = &execution.checkpoint.error {
        out.push_str(&format!("error: {}: {}\n", error.name, error.cause));
    }
    out.push('\n');
    out.push_str(&workflow_runtime::timeline(history).to_string());
    out
}

/// `workflows`: each kept definition's name and version.
pub(crate) fn definitions(kept: &[StoredDefinition]) -> String {
    if kept.is_empty() {
        return "no workflow definitions\n".to_owned();
    }
    let rows: Vec<Vec<String>> = kept
        .iter()
        .map(|d| vec![d.workflow.clone(), d.version.clone()])
        .collect();
    table(&["WORKFLOW", "VERSION"], &rows)
}

/// `purge`: how many executions it deleted.
pub(crate) fn purged(count: u64, older_than: &str) -> String {
    let executions = if count == 1 {
        "execution"
    } else {
        "executions"
    };
    format!("deleted {count} {executions} that ended more than {older_than} ago\n")
}

/// Pretty JSON with a final newline.
pub(crate) fn json(value: &impl serde::Serialize) -> Result<String, CliError> {
    Ok(format!("{}\n", serde_json::to_string_pretty(value)?))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use workflow_runtime::Status;
    use workflow_runtime::store::{Checkpoint, StoredExecution};

    fn stored(path: Option<&str>) -> StoredExecution {
        StoredExecution {
            id: "e1".into(),
            name: "order-7".into(),
            workflow: "Ship".into(),
            path: path.map(str::to_owned),
            version: "v1".into(),
            input: "7".into(),
            checkpoint: Checkpoint {
                state: "{\"Pick\":7}".into(),
                state_name: "Pick".into(),
                entry: 1,
                attempt: 1,
                retries: Vec::new(),
                waiting: None,
                wake_at: None,
                callback: None,
                status: Status::Running,
                output: None,
                error: None,
            },
            started_at: UNIX_EPOCH + Duration::from_secs(1_764_565_200),
            stopped_at: None,
            last_event_id: 0,
            fence: 1,
            callback_secret: String::new(),
        }
    }

    #[test]
    fn a_history_names_the_workflow_by_its_path_when_it_was_stored_with_one() {
        let first_line = |path| {
            let out = super::history(&stored(path), &[]);
            out.lines().next().unwrap().to_owned()
        };
        assert_eq!(
            first_line(Some("shop::Ship")),
            "order-7 (e1) of Ship (shop::Ship, version v1): Running in Pick"
        );
        // Stored before paths were.
        assert_eq!(
            first_line(None),
            "order-7 (e1) of Ship (version v1): Running in Pick"
        );
    }
}
