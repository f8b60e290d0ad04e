//! What the claim and the next wake-up read: the executions no worker
//! holds and the leases that expired, not every execution in flight. Run
//! with `EXPLAIN ANALYZE` on a table where most running executions are
//! held by a worker, as they are on a busy service.

use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

use super::Sql;
use crate::schema::{migrate, quoted};

/// Executions a worker holds (running, leased until far ahead).
const HELD: i64 = 3_000;
/// Executions parked on a timer far ahead, held by no worker.
const PARKED: i64 = 2_000;
/// Executions any worker may take now: new, due, or with an expired lease.
const RUNNABLE: i64 = 6;

/// The database's URL; `None` skips the test, as the integration tests do
/// (`tests/support/mod.rs`), unless `WORKFLOW_REQUIRE_POSTGRES` is set.
fn url() -> Option<String> {
    match std::env::var("WORKFLOW_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("WORKFLOW_REQUIRE_POSTGRES").is_some() => {
            panic!("WORKFLOW_REQUIRE_POSTGRES is set but WORKFLOW_TEST_POSTGRES names no database")
        }
        _ => None,
    }
}

/// Inserts `count` running executions named `{prefix}-n`, with this wake-up
/// time and lease.
fn insert(schema: &str, prefix: &str, count: i64, wake_at: &str, lease_until: &str) -> String {
    format!(
        "INSERT INTO {schema}.executions (id, name, workflow, version, input, state, \
             state_name, entry, attempt, retries, wake_at, status, started_at, last_event_id, \
             fence, lease_owner, lease_until, callback_secret) \
         SELECT '{prefix}-' || n, '{prefix}-' || n, 'W', 'v', '1', '1', 'S', 0, 1, '{{}}', \
             {wake_at}, 'Running', 0, 0, 1, \
             CASE WHEN {lease_until} IS NULL THEN NULL ELSE 'worker-a' END, {lease_until}, '' \
         FROM generate_series(1, {count}) AS n;"
    )
}

/// The rows a plan's scans returned or filtered out, from `EXPLAIN
/// (ANALYZE)`'s text: what the statement read.
fn rows_read(plan: &[String]) -> u64 {
    let number_after = |line: &str, marker: &str| -> u64 {
        line.split(marker)
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse().ok())
            .unwrap_or(0)
    };
    plan.iter()
        .map(|line| {
            let scanned = if line.contains("Scan") && line.contains("actual") {
                number_after(line, " rows=") * number_after(line, " loops=").max(1)
            } else {
                0
            };
            scanned
                + number_after(line, "Rows Removed by Filter: ")
                + number_after(line, "Rows Removed by Index Recheck: ")
        })
        .sum()
}

/// `statement`'s plan as it ran, in a transaction rolled back (`EXPLAIN
/// ANALYZE` runs it).
async fn explain(
    client: &tokio_postgres::Client,
    statement: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<String>, Failed> {
    let statement = format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {statement}");
    client.batch_execute("BEGIN").await?;
    let rows = client.query(&statement, params).await?;
    let plan = rows
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
    client.batch_execute("ROLLBACK").await?;
    Ok(plan)
}

/// Why the test could not run a statement: the database's own error.
type Failed = Box<dyn std::error::Error>;

#[tokio::test]
async fn claims_and_wake_ups_read_what_may_run_not_what_workers_hold() -> Result<(), Failed> {
    let Some(url) = url() else {
        eprintln!("skipped: no PostgreSQL (run scripts/test, or set WORKFLOW_TEST_POSTGRES)");
        return Ok(());
    };
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
    tokio::spawn(connection);
    let name = format!(
        "test_plans_{}_{:08x}",
        std::process::id(),
        fastrand::u32(..)
    );
    migrate(&client, &name, false).await?;
    let schema = quoted(&name)?;
    let far = 4_000_000_000_000_000_000_i64;
    client
        .batch_execute(&format!(
            "{}{}{}{}{}",
            insert(&schema, "held", HELD, "NULL", &far.to_string()),
            insert(&schema, "parked", PARKED, &far.to_string(), "NULL"),
            insert(&schema, "new", RUNNABLE / 3, "NULL", "NULL"),
            insert(&schema, "due", RUNNABLE / 3, "10", "NULL"),
            insert(&schema, "expired", RUNNABLE / 3, "NULL", "10"),
        ))
        .await?;
    let sql = Sql::new(&schema);
    // As a fresh schema's planner sees it (no statistics), then with them.
    for analyzed in [false, true] {
        if analyzed {
            client
                .batch_execute(&format!("ANALYZE {schema}.executions"))
                .await?;
        }
        let now = 1_000_i64;
        let claim = explain(
            &client,
            &sql.claim,
            &[&"worker-b", &(now + 60), &now, &now, &64_i64],
        )
        .await?;
        let read = rows_read(&claim);
        assert!(
            read <= 8 * RUNNABLE as u64,
            "a claim (analyzed: {analyzed}) read {read} rows for {RUNNABLE} runnable \
             executions:\n{}",
            claim.join("\n")
        );
        assert!(
            claim[0].starts_with("Update on") && claim[0].contains(&format!("rows={RUNNABLE} ")),
            "a claim takes every runnable execution:\n{}",
            claim.join("\n")
        );
        let wake = explain(&client, &sql.next_wake, &[&now]).await?;
        let read = rows_read(&wake);
        assert!(
            read <= 8 * RUNNABLE as u64,
            "the next wake-up (analyzed: {analyzed}) read {read} rows:\n{}",
            wake.join("\n")
        );
    }
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await?;
    Ok(())
}
