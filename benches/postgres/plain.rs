//! The plain-insert limit of the PostgreSQL benchmark (`postgres.rs`): the
//! rows the store writes, with plain statements, batched as the store
//! batches them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use workflow::postgres::PostgresStore;

use super::common::template::{STATES, Template, checkpoint, now_nanos, time_ordered_ids};
use super::{COMMITS_IN_FLIGHT, EXECUTIONS, MAX_BATCH, connect, fresh_schema};

/// The plain-insert limit of `workers` workers: with plain statements, the
/// rows the store writes for `EXECUTIONS` executions, in the store's
/// schema, batched as the store batches them (group starts and group
/// commits): the starts over `COMMITS_IN_FLIGHT` connections, as the
/// client's one store sends them, the commits over `COMMITS_IN_FLIGHT`
/// connections per worker; each connection writes its share of the
/// executions in statements of up to `MAX_BATCH` (the most the store puts
/// in one). Every start, then every first commit, and so on, as an engine
/// with all of them in flight.
pub fn plain_run(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    template: &Arc<Template>,
    workers: usize,
) -> Duration {
    let schema = fresh_schema("plain");
    // A batch of starts, as the store's group start writes them.
    let create = format!(
        "INSERT INTO {schema}.executions (id, name, workflow, version, input, state, entry, \
             attempt, retries, waiting, wake_at, status, output, error_name, error_cause, \
             started_at, stopped_at, last_event_id, fence, lease_owner, lease_until, \
             state_name, callback_secret) \
         SELECT n.id, n.name, 'Ten', $6, n.input::json, n.state::json, 0, 1, '{{}}', NULL, \
             NULL, 'Running', NULL, NULL, NULL, n.started_at, NULL, 0, 1, $7, 0, 'S1', $8 \
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) \
             AS n(id, name, input, state, started_at)"
    );
    // A batch of commits, as the store's group commit writes them: one
    // row of checkpoint columns per execution, and all their events.
    let commit = format!(
        "WITH t AS MATERIALIZED ( \
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], \
                 $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[], $10::text[], \
                 $11::text[], $12::bigint[], $13::bigint[], $14::text[]) \
             AS t(id, state, entry, attempt, retries, waiting, wake_at, status, output, \
                 error_name, error_cause, stopped_at, last_event_id, state_name)), \
         updated AS ( \
             UPDATE {schema}.executions AS e SET state = t.state::json, entry = t.entry, \
                 attempt = t.attempt, retries = t.retries::bigint[], waiting = t.waiting, \
                 wake_at = t.wake_at, status = t.status, output = t.output::json, \
                 error_name = t.error_name, error_cause = t.error_cause, \
                 stopped_at = COALESCE(t.stopped_at, e.stopped_at), \
                 last_event_id = t.last_event_id, state_name = t.state_name \
             FROM t WHERE e.id = t.id) \
         INSERT INTO {schema}.events (execution, id, previous_id, at, kind, state, data) \
         SELECT v.execution, v.id, v.previous_id, v.at, v.kind, v.state, v.data::json \
         FROM unnest($15::text[], $16::bigint[], $17::bigint[], $18::bigint[], $19::text[], \
             $20::text[], $21::text[]) AS v(execution, id, previous_id, at, kind, state, data)"
    );
    let ids = time_ordered_ids(EXECUTIONS);
    let owner = format!("engine-{:016x}", fastrand::u64(..));
    let version = format!("{:016x}", fastrand::u64(..));
    let shares = |count: usize| -> Vec<Vec<(u64, String)>> {
        (0..count)
            .map(|share| {
                ids.iter()
                    .enumerate()
                    .filter(|(n, _)| n % count == share)
                    .map(|(n, id)| (n as u64, id.clone()))
                    .collect()
            })
            .collect()
    };
    runtime.block_on(async {
        // The store lays out the schema (every migration), so the loop
        // writes the very tables the store does; then it steps aside.
        drop(
            PostgresStore::builder(url.to_owned())
                .schema(schema.clone())
                .connect()
                .await
                .expect("the store creates its schema"),
        );
        let mut clients = Vec::new();
        for _ in 0..COMMITS_IN_FLIGHT * workers {
            let client = Arc::new(connect(url).await);
            let statements = (
                client.prepare(&create).await.expect("prepares"),
                client.prepare(&commit).await.expect("prepares"),
            );
            clients.push((client, statements));
        }
        let started = Instant::now();
        // The client's starts: one store, its group starts.
        let starting: Vec<_> = clients
            .iter()
            .zip(shares(COMMITS_IN_FLIGHT))
            .map(|((client, (create, _)), mine)| {
                let (client, create) = (Arc::clone(client), create.clone());
                let (owner, version) = (owner.clone(), version.clone());
                tokio::spawn(async move {
                    for batch in mine.chunks(MAX_BATCH) {
                        let at = now_nanos();
                        client
                            .execute(
                                &create,
                                &[
                                    &batch.iter().map(|(_, id)| id.as_str()).collect::<Vec<_>>(),
                                    &batch
                                        .iter()
                                        .map(|(n, _)| format!("e{n}"))
                                        .collect::<Vec<_>>(),
                                    &batch.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>(),
                                    &batch
                                        .iter()
                                        .map(|(n, _)| checkpoint(0, *n))
                                        .collect::<Vec<_>>(),
                                    &vec![at; batch.len()],
                                    &version,
                                    &owner,
                                    // A row of the store's size: its callback secret
                                    // is 64 hex digits.
                                    &"0123456789abcdef".repeat(4),
                                ],
                            )
                            .await
                            .expect("inserts executions");
                    }
                })
            })
            .collect();
        for start in starting {
            start.await.expect("joins");
        }
        let committing: Vec<_> = clients
            .iter()
            .zip(shares(COMMITS_IN_FLIGHT * workers))
            .map(|((client, (_, commit)), mine)| {
                let (client, commit) = (Arc::clone(client), commit.clone());
                let template = Arc::clone(template);
                tokio::spawn(async move {
                    let mut last_event = 0i64;
                    for (index, events) in template.commits.iter().enumerate() {
                        let ends = index == STATES as usize;
                        let state = index.min(STATES as usize - 1);
                        let event_ids: Vec<i64> =
                            (1..=events.len() as i64).map(|i| last_event + i).collect();
                        last_event += events.len() as i64;
                        for batch in mine.chunks(MAX_BATCH) {
                            let at = now_nanos();
                            let rows = batch.len();
                            let per_event = |n: usize| n * events.len();
                            let (status, stopped_at) = if ends {
                                ("Succeeded", Some(at))
                            } else {
                                ("Running", None)
                            };
                            let outputs: Vec<Option<String>> = batch
                                .iter()
                                .map(|(n, _)| ends.then(|| (n + 9).to_string()))
                                .collect();
                            let event_executions: Vec<&str> = batch
                                .iter()
                                .flat_map(|(_, id)| vec![id.as_str(); events.len()])
                                .collect();
                            client
                                .execute(
                                    &commit,
                                    &[
                                        &batch
                                            .iter()
                                            .map(|(_, id)| id.as_str())
                                            .collect::<Vec<_>>(),
                                        &batch
                                            .iter()
                                            .map(|(n, _)| checkpoint(state, *n))
                                            .collect::<Vec<_>>(),
                                        &vec![if ends { 0 } else { index as i64 }; rows],
                                        &vec![if ends { 0i64 } else { 1 }; rows],
                                        &vec!["{}"; rows],
                                        &vec![None::<&str>; rows],
                                        &vec![None::<i64>; rows],
                                        &vec![status; rows],
                                        &outputs,
                                        &vec![None::<&str>; rows],
                                        &vec![None::<&str>; rows],
                                        &vec![stopped_at; rows],
                                        &vec![last_event; rows],
                                        &vec![format!("S{}", state + 1); rows],
                                        &event_executions,
                                        &event_ids.repeat(rows),
                                        &event_ids
                                            .iter()
                                            .map(|i| i - 1)
                                            .collect::<Vec<_>>()
                                            .repeat(rows),
                                        &vec![at; per_event(rows)],
                                        &events
                                            .iter()
                                            .map(|e| e.kind)
                                            .collect::<Vec<_>>()
                                            .repeat(rows),
                                        &events
                                            .iter()
                                            .map(|e| e.state.as_deref())
                                            .collect::<Vec<_>>()
                                            .repeat(rows),
                                        &events
                                            .iter()
                                            .map(|e| e.data.as_deref())
                                            .collect::<Vec<_>>()
                                            .repeat(rows),
                                    ],
                                )
                                .await
                                .expect("commits a batch of transitions");
                        }
                    }
                })
            })
            .collect();
        for writer in committing {
            writer.await.expect("joins");
        }
        let elapsed = started.elapsed();
        let admin = connect(url).await;
        let ended: i64 = admin
            .query_one(
                &format!(
                    "SELECT count(*) FROM {schema}.executions WHERE status = 'Succeeded' \
                     AND last_event_id = (SELECT max(id) FROM {schema}.events)"
                ),
                &[],
            )
            .await
            .expect("counts")
            .get(0);
        assert_eq!(ended as u64, EXECUTIONS, "every row written");
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await
            .expect("drops the schema");
        elapsed
    })
}
