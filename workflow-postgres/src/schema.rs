//! The schema: versioned migrations, applied once however many workers
//! start at the same moment.

use tokio_postgres::Client;
use workflow_runtime::store::StoreError;

use crate::rows::database;

/// The schema, one migration per version. `{schema}` is replaced by the
/// store's (validated, quoted) schema name.
///
/// Times are `bigint` nanoseconds since the Unix epoch, as the engine's
/// clock gives them: a `timestamptz` keeps microseconds, so a deadline
/// would not read back as it was written. Payloads are `json`, which keeps
/// the text exactly as written (the engine compares an idempotent start's
/// input with it, and histories show data as recorded) and costs less to
/// write than `jsonb`; queries may still use the JSON operators on it.
const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE {schema}.executions (
        seq bigserial NOT NULL,
        id text PRIMARY KEY,
        name text NOT NULL UNIQUE,
        workflow text NOT NULL,
        version text NOT NULL,
        input json NOT NULL,
        state json NOT NULL,
        state_name text NOT NULL,
        entry bigint NOT NULL,
        attempt bigint NOT NULL,
        retries bigint[] NOT NULL,
        waiting text,
        wake_at bigint,
        status text NOT NULL,
        output json,
        error_name text,
        error_cause text,
        started_at bigint NOT NULL,
        stopped_at bigint,
        last_event_id bigint NOT NULL,
        fence bigint NOT NULL,
        lease_owner text,
        lease_until bigint
    );
    CREATE INDEX executions_in_order ON {schema}.executions (seq);
    CREATE INDEX executions_by_workflow ON {schema}.executions (workflow, status);
    CREATE INDEX executions_claimable ON {schema}.executions (wake_at NULLS FIRST)
        WHERE status = 'Running';
    CREATE TABLE {schema}.events (
        execution text NOT NULL,
        id bigint NOT NULL,
        previous_id bigint NOT NULL,
        at bigint NOT NULL,
        kind text NOT NULL,
        state text,
        data json,
        PRIMARY KEY (execution, id)
    );
    CREATE TABLE {schema}.callbacks (
        token text PRIMARY KEY,
        succeeded boolean NOT NULL,
        output json,
        error text,
        cause text
    );
    CREATE TABLE {schema}.definitions (
        seq bigserial NOT NULL,
        workflow text NOT NULL,
        version text NOT NULL,
        definition json NOT NULL,
        PRIMARY KEY (workflow, version)
    );
"#,
    // Callback tokens made with a random secret per execution, and the
    // callbacks that wait, for the pending list. Executions from before get
    // a secret of their own (two v4 UUIDs: 244 random bits from the
    // server's strong generator); tokens they handed out before, which
    // were their idempotency keys, are refused from now on.
    r#"
    ALTER TABLE {schema}.executions ADD COLUMN callback_secret text NOT NULL DEFAULT '';
    UPDATE {schema}.executions
        SET callback_secret = replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '');
    ALTER TABLE {schema}.executions ALTER COLUMN callback_secret DROP DEFAULT;
    CREATE TABLE {schema}.awaited_callbacks (
        seq bigserial PRIMARY KEY,
        key text NOT NULL UNIQUE,
        token text NOT NULL,
        execution text NOT NULL,
        anchor_state text NOT NULL,
        anchor_entry bigint NOT NULL,
        state text NOT NULL,
        since bigint NOT NULL,
        message json
    );
    CREATE INDEX awaited_callbacks_by_execution ON {schema}.awaited_callbacks (execution);
"#,
    // Finished Parallel branches and Map iterations, so that a resumed
    // state runs only the children that had not finished.
    r#"
    CREATE TABLE {schema}.children (
        execution text NOT NULL,
        entry bigint NOT NULL,
        attempt bigint NOT NULL,
        idx bigint NOT NULL,
        output json NOT NULL,
        PRIMARY KEY (execution, entry, attempt, idx)
    );
"#,
    // Ended executions by when they ended, for purges: without it a purge
    // reads past every running execution started before the ones it
    // deletes, at every batch. Partial, so running executions (the ones
    // written often) are not in it.
    r#"
    CREATE INDEX executions_ended ON {schema}.executions (stopped_at)
        WHERE status <> 'Running';
"#,
    // The workflow's path (module and enum), which tells workflows of one
    // name apart. Executions from before have none: recovery finds their
    // workflow by its name and version.
    r#"
    ALTER TABLE {schema}.executions ADD COLUMN workflow_path text;
"#,
    // What a claim and the next wake-up read, each through an index of its
    // own: executions no worker holds, by wake-up time, and leases, by
    // when they expire. The one index before, of every running execution
    // by wake-up time, made each claim read past all the executions that
    // workers hold (with no timer, they sorted first): the more in flight,
    // the longer every claim took. Commits, which change neither column,
    // leave these indexes alone.
    r#"
    DROP INDEX {schema}.executions_claimable;
    CREATE INDEX executions_unowned ON {schema}.executions (wake_at)
        WHERE status = 'Running' AND lease_until IS NULL;
    CREATE INDEX executions_leases ON {schema}.executions (lease_until)
        WHERE status = 'Running' AND lease_until IS NOT NULL;
"#,
    // The callback task an execution is parked on, as
    // `ParkedCallback::encode` writes it: its deadlines, kept while no
    // future waits for the answer.
    r#"
    ALTER TABLE {schema}.executions ADD COLUMN callback text;
"#,
];

/// A schema name as SQL: quoted, after checking it is a plain identifier
/// (so it can be spliced into statements, and reads the same unquoted).
pub(crate) fn quoted(schema: &str) -> Result<String, StoreError> {
    let mut chars = schema.chars();
    let plain = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && schema.len() <= 63;
    if !plain {
        return Err(StoreError::Config(format!(
            "the schema name `{schema}` is not a plain identifier: use 1 to 63 lowercase \
             ASCII letters, digits and underscores, not starting with a digit"
        )));
    }
    Ok(format!("\"{schema}\""))
}

/// Brings the schema up to date; with `existing_only`, only a schema that
/// holds a store already. Under a session advisory lock keyed by the
/// schema's name, so of many workers starting at once one migrates and the
/// others wait, then find nothing left to do.
pub(crate) async fn migrate(
    client: &Client,
    schema: &str,
    existing_only: bool,
) -> Result<(), StoreError> {
    let quoted = quoted(schema)?;
    let key = format!("workflow schema {schema}");
    client
        .execute("SELECT pg_advisory_lock(hashtext($1))", &[&key])
        .await
        .map_err(database)?;
    let migrated = if existing_only {
        match existing(client, schema, &quoted).await {
            Ok(()) => apply(client, &quoted, false).await,
            Err(error) => Err(error),
        }
    } else {
        apply(client, &quoted, true).await
    };
    let unlocked = client
        .execute("SELECT pg_advisory_unlock(hashtext($1))", &[&key])
        .await
        .map_err(database);
    migrated.and(unlocked.map(drop))
}

/// Checks that the schema exists and holds a store (its `migrations`
/// table), so that opening it creates nothing.
async fn existing(client: &Client, schema: &str, quoted: &str) -> Result<(), StoreError> {
    let row = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), \
                 to_regclass($2) IS NOT NULL",
            &[&schema, &format!("{quoted}.migrations")],
        )
        .await
        .map_err(database)?;
    let schema_exists: bool = row.try_get(0).map_err(database)?;
    let store_exists: bool = row.try_get(1).map_err(database)?;
    match (schema_exists, store_exists) {
        (false, _) => Err(StoreError::Config(format!(
            "the database has no schema `{schema}`: no engine has kept a store there \
             (an engine's first connection creates it)"
        ))),
        (true, false) => Err(StoreError::Config(format!(
            "the schema `{schema}` holds no workflow store (it has no `migrations` table)"
        ))),
        (true, true) => Ok(()),
    }
}

/// Applies the migrations not applied yet; `create` first creates the
/// schema and its migrations table where missing.
async fn apply(client: &Client, schema: &str, create: bool) -> Result<(), StoreError> {
    if create {
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; \
                 CREATE TABLE IF NOT EXISTS {schema}.migrations ( \
                     version integer PRIMARY KEY, \
                     applied_at timestamptz NOT NULL DEFAULT now())"
            ))
            .await
            .map_err(database)?;
    }
    let found: i32 = client
        .query_one(
            &format!("SELECT COALESCE(MAX(version), 0) FROM {schema}.migrations"),
            &[],
        )
        .await
        .map_err(database)?
        .get(0);
    let supported = MIGRATIONS.len() as i64;
    if i64::from(found) > supported {
        return Err(StoreError::NewerSchema {
            found: i64::from(found),
            supported,
        });
    }
    for (index, migration) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let version = index + 1;
        let applied = client
            .batch_execute(&format!(
                "BEGIN; {} ; INSERT INTO {schema}.migrations (version) VALUES ({version}); COMMIT;",
                migration.replace("{schema}", schema)
            ))
            .await;
        if let Err(error) = applied {
            // Leaves the connection usable for the unlock that follows.
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(database(error));
        }
    }
    Ok(())
}

/// How many migrations this library knows: the schema version it writes.
pub(crate) fn supported() -> i64 {
    MIGRATIONS.len() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_identifiers_are_schema_names() {
        assert_eq!(quoted("workflow_2").ok().as_deref(), Some("\"workflow_2\""));
        for bad in ["", "2fast", "Upper", "a-b", "a\"b", "a b", &"x".repeat(64)] {
            assert!(
                matches!(quoted(bad), Err(StoreError::Config(_))),
                "`{bad}` was accepted"
            );
        }
    }
}
