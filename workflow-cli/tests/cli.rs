//! The `workflow` binary, end to end: a real engine writes a store (a
//! SQLite file, or a PostgreSQL schema), then the binary reads it back.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::store::SqliteStore;

#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum ShipError {
    #[error("out of stock")]
    OutOfStock,
    #[error("the address is unknown")]
    NoAddress,
}

/// Order 1 ships, order 3 is out of stock (caught), order 4 has no address.
#[workflow]
#[derive(Serialize, Deserialize)]
pub enum Ship {
    #[start]
    #[task(pick, next = Notify)]
    #[catch(on = [ShipError::OutOfStock], next = Backorder)]
    Pick(u32),

    #[parallel(branches = [Label, Email], next = Shipped)]
    Notify(u32),

    #[succeed]
    Shipped((u32, u32)),

    #[fail(error = "Backordered")]
    Backorder(Caught<u32, ShipError>),
}

#[workflow]
#[derive(Serialize, Deserialize)]
pub enum Label {
    #[start]
    #[task(send, next = Printed)]
    Print(u32),
    #[succeed]
    Printed(u32),
}

#[workflow]
#[derive(Serialize, Deserialize)]
pub enum Email {
    #[start]
    #[task(send, next = Sent)]
    Write(u32),
    #[succeed]
    Sent(u32),
}

async fn pick(_cx: Ctx<'_, ()>, order: u32) -> Result<u32, ShipError> {
    match order {
        3 => Err(ShipError::OutOfStock),
        4 => Err(ShipError::NoAddress),
        _ => Ok(order),
    }
}

async fn send(_cx: Ctx<'_, ()>, order: u32) -> Result<u32, ShipError> {
    Ok(order)
}

/// A store file with orders 1, 3 and 4 run to their ends.
async fn store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    let engine = Engine::builder(())
        .store(SqliteStore::open(&path).unwrap())
        .build();
    engine.register::<Ship>();
    for n in [1, 3, 4] {
        let handle = engine.start::<Ship>(format!("order-{n}"), n).await.unwrap();
        let _ = handle.outcome().await;
    }
    (dir, path)
}

/// The binary with these arguments only (no store from the environment).
fn run(args: &[&OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workflow"))
        .env_remove("WORKFLOW_DB")
        .args(args)
        .output()
        .unwrap()
}

fn workflow(db: &Path, args: &[&str]) -> Output {
    let mut all = vec![OsStr::new("--db"), db.as_os_str()];
    all.extend(args.iter().map(OsStr::new));
    run(&all)
}

/// Stdout of a run that must have succeeded.
fn succeeded(out: Output, args: &[&str]) -> String {
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Stderr of a run that must have failed with `code`.
fn failed(out: Output, args: &[&str], code: i32) -> String {
    assert_eq!(out.status.code(), Some(code), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    String::from_utf8(out.stderr).unwrap()
}

/// Stdout of a command that must succeed.
fn ok(db: &Path, args: &[&str]) -> String {
    succeeded(workflow(db, args), args)
}

/// Stderr of a command that must fail with `code`.
fn fails(db: &Path, args: &[&str], code: i32) -> String {
    failed(workflow(db, args), args, code)
}

#[tokio::test]
async fn lists_executions_filtered_by_workflow_and_status() {
    let (_dir, db) = store().await;
    let all = ok(&db, &["list"]);
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 4, "{all}");
    assert!(lines[0].starts_with("ID "), "{all}");
    // Newest first.
    for (line, (name, status, state)) in lines[1..].iter().zip([
        ("order-4", "Failed", "Pick"),
        ("order-3", "Failed", "Backorder"),
        ("order-1", "Succeeded", "Shipped"),
    ]) {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[1..5], [name, "Ship", status, state], "{all}");
    }
    let failed = ok(&db, &["list", "--status", "failed"]);
    assert_eq!(failed.lines().count(), 3, "{failed}");
    assert!(!failed.contains("order-1"), "{failed}");
    assert_eq!(ok(&db, &["list", "--workflow", "Label"]), "no executions\n");
}

#[tokio::test]
async fn lists_the_newest_twenty_unless_told_and_says_how_many_more() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("many.db");
    let engine = Engine::builder(())
        .store(SqliteStore::open(&db).unwrap())
        .build();
    engine.register::<Ship>();
    for n in 0..25 {
        let handle = engine
            .start::<Ship>(format!("run-{n:02}"), 1)
            .await
            .unwrap();
        handle.outcome().await.unwrap();
    }
    drop(engine);
    let names = |out: &str| -> Vec<String> {
        out.lines()
            .skip(1)
            .filter(|line| !line.starts_with("..."))
            .map(|line| line.split_whitespace().nth(1).unwrap().to_owned())
            .collect()
    };
    let newest = |n: usize| -> Vec<String> {
        (0..25)
            .rev()
            .take(n)
            .map(|n| format!("run-{n:02}"))
            .collect()
    };

    let page = ok(&db, &["list"]);
    assert_eq!(names(&page), newest(20), "{page}");
    assert!(
        page.ends_with("... and 5 older (show them with --limit 25 or --all)\n"),
        "{page}"
    );
    let three = ok(&db, &["list", "--limit", "3"]);
    assert_eq!(names(&three), newest(3), "{three}");
    assert!(three.contains("... and 22 older"), "{three}");
    let all = ok(&db, &["list", "--all"]);
    assert_eq!(names(&all), newest(25), "{all}");
    assert!(!all.contains("older"), "{all}");
    let exact = ok(&db, &["list", "--limit", "25"]);
    assert!(!exact.contains("older"), "{exact}");

    let zero = fails(&db, &["list", "--limit", "0"], 2);
    assert!(zero.contains("--limit"), "{zero}");
    let both = fails(&db, &["list", "--limit", "3", "--all"], 2);
    assert!(both.contains("cannot be used with"), "{both}");
}

#[tokio::test]
async fn shows_a_history_as_a_timeline_by_name_or_id() {
    let (_dir, db) = store().await;
    let by_name = ok(&db, &["history", "order-3"]);
    assert!(by_name.starts_with("order-3 ("), "{by_name}");
    // The workflow by its name, then its path (this test crate's `Ship`).
    assert!(
        by_name.contains(") of Ship (cli::Ship, version "),
        "{by_name}"
    );
    assert!(by_name.contains("Failed in Backorder"), "{by_name}");
    assert!(by_name.contains("error: Backordered"), "{by_name}");
    let kinds: Vec<&str> = by_name
        .lines()
        .filter(|l| l.trim_start().starts_with('+'))
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "TaskScheduled",
            "TaskStarted",
            "TaskFailed",
            "TaskStateExited",
            "FailStateEntered",
            "ExecutionFailed",
        ]
    );
    let id = by_name.split(['(', ')']).nth(1).unwrap();
    assert_eq!(ok(&db, &["history", id]), by_name);
}

#[tokio::test]
async fn draws_an_execution_over_its_workflow() {
    let (_dir, db) = store().await;
    let shipped = ok(&db, &["diagram", "--execution", "order-1"]);
    assert!(shipped.starts_with("stateDiagram-v2"), "{shipped}");
    assert!(
        shipped.contains("class Pick,Notify,Shipped succeeded"),
        "{shipped}"
    );
    assert!(shipped.contains("class Backorder not_visited"), "{shipped}");
    let caught = ok(&db, &["diagram", "--execution", "order-3"]);
    assert!(caught.contains("class Pick caught"), "{caught}");
    assert!(caught.contains("class Backorder failed"), "{caught}");
    let failed = ok(
        &db,
        &["diagram", "--execution", "order-4", "--format", "dot"],
    );
    assert!(failed.starts_with("digraph \"Ship\""), "{failed}");
    assert!(failed.contains("fillcolor=\"#fde0e0\""), "{failed}");
    // Without an execution, the plain diagram.
    assert_eq!(
        ok(&db, &["diagram", "Ship"]),
        <Ship as Workflow>::definition().to_mermaid()
    );
}

#[tokio::test]
async fn exports_asl_with_the_branches_it_runs() {
    let (_dir, db) = store().await;
    let asl: serde_json::Value = serde_json::from_str(&ok(&db, &["export", "Ship"])).unwrap();
    let expected = serde_json::to_value(
        <Ship as Workflow>::definition().to_asl(&<Ship as Workflow>::children()),
    )
    .unwrap();
    assert_eq!(asl, expected);
    assert_eq!(
        asl["States"]["Notify"]["Branches"][1]["StartAt"],
        "Notify.Email.Write"
    );
    let kept = ok(&db, &["workflows"]);
    let names: Vec<&str> = kept
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["Ship", "Label", "Email"]);
}

#[tokio::test]
async fn a_missing_file_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nowhere.db");
    let error = fails(&db, &["list"], 1);
    assert_eq!(
        error,
        format!(
            "error: no store at `{}`: the file does not exist\n",
            db.display()
        )
    );
    assert_eq!(fails(&db, &["purge", "--older-than", "7d"], 1), error);
    assert!(!db.exists());
}

#[tokio::test]
async fn unknown_names_are_errors_that_say_what_there_is() {
    let (_dir, db) = store().await;
    assert_eq!(
        fails(&db, &["history", "order-9"], 1),
        "error: no execution with id or name `order-9` in this store (`workflow list` shows them)\n"
    );
    assert_eq!(
        fails(&db, &["diagram", "--execution", "0123"], 1),
        "error: no execution with id or name `0123` in this store (`workflow list` shows them)\n"
    );
    assert_eq!(
        fails(&db, &["export", "Shp"], 1),
        "error: no workflow named `Shp` in this store; it keeps `Ship`, `Label`, `Email`\n"
    );
    let version = fails(&db, &["export", "Ship", "--version", "v0"], 1);
    assert!(
        version.starts_with("error: workflow `Ship` has no version `v0` in this store; it has `"),
        "{version}"
    );
    let status = fails(&db, &["list", "--status", "done"], 2);
    assert!(
        status.contains("expected one of Running, Succeeded, Failed, TimedOut, Aborted"),
        "{status}"
    );
}

#[tokio::test]
async fn a_file_that_is_not_a_store_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.db");
    std::fs::write(&db, "these are not the executions you are looking for").unwrap();
    let error = fails(&db, &["list"], 1);
    assert!(
        error.starts_with(&format!("error: the store at `{}`: ", db.display())),
        "{error}"
    );
}

/// Holds for an hour: still running when the commands read the store.
#[workflow]
#[derive(Serialize, Deserialize)]
pub enum Hold {
    #[start]
    #[wait(seconds = 3600, next = Released)]
    Waiting(u32),
    #[succeed]
    Released(u32),
}

#[tokio::test]
async fn purge_deletes_what_has_ended_and_keeps_what_runs() {
    let (_dir, db) = store().await;
    // Started by a client-only engine, and run by nobody: it stays running.
    let client = Engine::builder(())
        .store(SqliteStore::open(&db).unwrap())
        .client_only()
        .build();
    client.register::<Hold>();
    client.start::<Hold>("hold-1", 1).await.unwrap();
    drop(client);

    // Nothing ended a day ago.
    assert_eq!(
        ok(&db, &["purge", "--older-than", "1d"]),
        "deleted 0 executions that ended more than 1d ago\n"
    );
    assert_eq!(ok(&db, &["list"]).lines().count(), 5);
    // Everything that has ended has ended by now; --db may come after the
    // command too.
    let args = ["purge", "--older-than", "0s", "--db"];
    let mut all: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    all.push(db.as_os_str());
    assert_eq!(
        succeeded(run(&all), &args),
        "deleted 3 executions that ended more than 0s ago\n"
    );
    let left = ok(&db, &["list"]);
    let rows: Vec<Vec<&str>> = left
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 1, "{left}");
    assert_eq!(rows[0][1..5], ["hold-1", "Hold", "Running", "Waiting"]);
    assert!(
        fails(&db, &["history", "order-1"], 1).contains("no execution with id or name `order-1`")
    );
    // What the definitions say stays: the workflows can still be drawn.
    assert!(ok(&db, &["diagram", "Ship"]).starts_with("stateDiagram-v2"));
    let bad_age = fails(&db, &["purge", "--older-than", "7x"], 2);
    assert!(bad_age.contains("expected an age such as 30d"), "{bad_age}");
}

#[tokio::test]
async fn the_store_must_be_named_and_a_schema_is_for_postgres_only() {
    let missing = failed(run(&[OsStr::new("list")]), &["list"], 2);
    assert!(missing.contains("name the store with --db"), "{missing}");
    let (_dir, db) = store().await;
    let schema = fails(&db, &["--schema", "orders", "list"], 1);
    assert!(
        schema.starts_with("error: --schema names a PostgreSQL schema"),
        "{schema}"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error_without_the_password() {
    // Nothing listens on port 1.
    let url = "postgres://reader:hunter2@127.0.0.1:1/orders";
    let args = ["--db", url, "list"];
    let args_os: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    let error = failed(run(&args_os), &args, 1);
    assert!(
        error.starts_with(
            "error: the store at `postgres://reader:***@127.0.0.1:1/orders` (schema `workflow`): \
             the database is unavailable: "
        ),
        "{error}"
    );
    assert!(!error.contains("hunter2"), "{error}");
}

// The commands on PostgreSQL: a real engine writes a schema of the test
// database, the binary reads it. Skipped without WORKFLOW_TEST_POSTGRES;
// a failure if WORKFLOW_REQUIRE_POSTGRES is set without it.
#[path = "../../workflow-postgres/tests/support/mod.rs"]
mod postgres_support;

/// `workflow --db <url> --schema <schema> args...`
fn on_postgres(url: &str, schema: &str, args: &[&str]) -> Output {
    let mut all = vec!["--db", url, "--schema", schema];
    all.extend(args);
    let all: Vec<&OsStr> = all.iter().map(OsStr::new).collect();
    run(&all)
}

#[tokio::test]
async fn lists_histories_and_purges_on_postgres() {
    let Some(builder) = postgres_support::builder() else {
        return;
    };
    let store = builder.connect().await.expect("the test database");
    let schema = store.schema().to_owned();
    let url = postgres_support::url().unwrap();
    let engine = Engine::builder(()).store(store).build();
    engine.register::<Ship>();
    for n in [1, 3, 4] {
        let handle = engine.start::<Ship>(format!("order-{n}"), n).await.unwrap();
        let _ = handle.outcome().await;
    }
    drop(engine);
    let ok = |args: &[&str]| succeeded(on_postgres(&url, &schema, args), args);

    let all = ok(&["list"]);
    let rows: Vec<Vec<&str>> = all
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let cells: Vec<&[&str]> = rows.iter().map(|r| &r[1..5]).collect();
    assert_eq!(
        cells,
        // Newest first.
        [
            ["order-4", "Ship", "Failed", "Pick"],
            ["order-3", "Ship", "Failed", "Backorder"],
            ["order-1", "Ship", "Succeeded", "Shipped"],
        ],
        "{all}"
    );
    assert_eq!(ok(&["list", "--status", "failed"]).lines().count(), 3);

    let history = ok(&["history", "order-3"]);
    assert!(history.starts_with("order-3 ("), "{history}");
    assert!(history.contains("error: Backordered"), "{history}");
    let kinds: Vec<&str> = history
        .lines()
        .filter(|l| l.trim_start().starts_with('+'))
        .map(|l| l.split_whitespace().nth(2).unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"ExecutionStarted"));
    assert_eq!(kinds.last(), Some(&"ExecutionFailed"));
    let id = history.split(['(', ')']).nth(1).unwrap();
    assert_eq!(ok(&["history", id]), history);
    assert_eq!(
        ok(&["diagram", "Ship"]),
        <Ship as Workflow>::definition().to_mermaid()
    );

    assert_eq!(
        ok(&["purge", "--older-than", "0s"]),
        "deleted 3 executions that ended more than 0s ago\n"
    );
    assert_eq!(ok(&["list"]), "no executions\n");
}

#[tokio::test]
async fn a_missing_schema_is_an_error_and_is_not_created() {
    let Some(url) = postgres_support::url() else {
        return;
    };
    let schema = postgres_support::fresh_schema();
    for _ in 0..2 {
        let error = failed(on_postgres(&url, &schema, &["list"]), &["list"], 1);
        assert!(
            error.ends_with(&format!(
                "invalid store configuration: the database has no schema `{schema}`: no engine \
                 has kept a store there (an engine's first connection creates it)\n"
            )),
            "{error}"
        );
    }
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "../../tests/support/exports.rs"]
mod exports_check;
validate_exports!(Ship, Label, Email, Hold);
