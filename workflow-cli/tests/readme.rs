//! The README's `workflow` commands work as written after the main
//! example: the example's story runs into a file (on the paused clock),
//! then every command of the README's block runs on it.

use std::path::Path;
use std::process::Command;

#[path = "../../examples/checkout/shop.rs"]
mod shop;

/// How the README names the example's store.
const DB: &str = "target/checkout.db";

/// The README's commands on the example's store, each as the arguments
/// the binary gets: what follows `cargo run -p workflow-cli --`, up to a
/// pipe or a redirection.
fn readme_commands() -> Vec<Vec<String>> {
    let readme = include_str!("../../README.md");
    let prefix = format!("cargo run -p workflow-cli -- --db {DB} ");
    readme
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(|rest| {
            let command = rest.split(['|', '>']).next().unwrap_or(rest);
            command.split_whitespace().map(str::to_owned).collect()
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_readme_commands_work_on_the_example_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("checkout.db");
    shop::demo(&db).await.unwrap();

    let commands = readme_commands();
    let names: Vec<&str> = commands.iter().map(|c| c[0].as_str()).collect();
    for command in ["list", "history", "diagram", "export", "workflows", "purge"] {
        assert!(
            names.contains(&command),
            "the README shows no `{command}`: {names:?}"
        );
    }
    for args in &commands {
        let out = run(&db, args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(!stdout.trim().is_empty(), "{args:?} printed nothing");
        // What the commands name exists in the example's store.
        if args.iter().any(|a| a == "order-3") {
            assert!(
                stdout.contains("Failed") || stdout.contains("Cancel"),
                "{stdout}"
            );
        }
        if args.iter().any(|a| a == "failed") {
            assert!(
                stdout.contains("order-3") && !stdout.contains("order-1"),
                "{stdout}"
            );
        }
    }
}

fn run(db: &Path, args: &[String]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_workflow"))
        .env_remove("WORKFLOW_DB")
        .arg("--db")
        .arg(db)
        .args(args)
        .output()
        .unwrap()
}
