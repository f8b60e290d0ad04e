//! The store's statements: one per operation, with the schema spliced in
//! once when the store connects.

use crate::rows::COLUMNS;

/// The store's statements, with its schema spliced in once.
#[derive(Debug)]
pub(crate) struct Sql {
    pub(crate) create: String,
    pub(crate) by_name: String,
    pub(crate) by_id: String,
    pub(crate) commit: String,
    pub(crate) commit_children: String,
    pub(crate) children: String,
    pub(crate) claim: String,
    pub(crate) release: String,
    pub(crate) renew: String,
    pub(crate) next_wake: String,
    pub(crate) history: String,
    pub(crate) list: String,
    pub(crate) purge: String,
    pub(crate) complete_callback: String,
    pub(crate) callback: String,
    pub(crate) wake_callback: String,
    pub(crate) await_callback: String,
    pub(crate) pending_callbacks: String,
    pub(crate) save_definition: String,
    pub(crate) definitions: String,
}

/// The checkpoint columns of the batch statements, in the order of
/// `CheckpointColumns::params`.
const CHECKPOINT_COLUMNS: &str = "state, entry, attempt, retries, waiting, wake_at, status, \
     output, error_name, error_cause, state_name";

/// The parameters that carry the checkpoint columns, from `$first` on.
fn checkpoint_params(first: usize) -> String {
    const TYPES: [&str; 11] = [
        "text", "bigint", "bigint", "text", "text", "bigint", "text", "text", "text", "text",
        "text",
    ];
    let params: Vec<String> = TYPES
        .iter()
        .enumerate()
        .map(|(i, kind)| format!("${}::{kind}[]", first + i))
        .collect();
    params.join(", ")
}

impl Sql {
    pub(crate) fn new(s: &str) -> Sql {
        let (checkpoint_at_6, checkpoint_at_11) = (checkpoint_params(6), checkpoint_params(11));
        Sql {
            // A batch of starts (`starts.rs`): each goes in unless its
            // name is taken; the ids that went in come back. Notifies only
            // for an execution nobody holds (created by a client, for any
            // worker to take): a NOTIFY serializes commits on the server,
            // so writes that wake nobody do not send one; and the batch's
            // notifications have one payload, which the server delivers
            // once per transaction.
            create: format!(
                "WITH n AS MATERIALIZED ( \
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], \
                         $5::text[], $6::bigint[], $7::text[], $8::bigint[], $9::text[], \
                         $10::text[], {checkpoint_at_11}, $23::text[]) \
                     AS n(id, name, workflow, version, input, started_at, lease_owner, \
                         lease_until, callback_secret, workflow_path, {CHECKPOINT_COLUMNS}, \
                         callback)), \
                 inserted AS ( \
                     INSERT INTO {s}.executions (id, name, workflow, version, input, state, \
                         entry, attempt, retries, waiting, wake_at, status, output, error_name, \
                         error_cause, started_at, stopped_at, last_event_id, fence, lease_owner, \
                         lease_until, state_name, callback_secret, workflow_path, callback) \
                     SELECT id, name, workflow, version, input::json, state::json, entry, \
                         attempt, retries::bigint[], waiting, wake_at, status, output::json, \
                         error_name, error_cause, started_at, NULL, 0, 1, lease_owner, \
                         lease_until, state_name, callback_secret, workflow_path, callback \
                     FROM n \
                     ON CONFLICT (name) DO NOTHING RETURNING id, lease_until, started_at) \
                 SELECT id, CASE WHEN lease_until <= started_at THEN pg_notify($22, 'start') END \
                 FROM inserted"
            ),
            by_name: format!("SELECT {COLUMNS} FROM {s}.executions WHERE name = $1"),
            by_id: format!("SELECT {COLUMNS} FROM {s}.executions WHERE id = $1"),
            // A batch of transitions (group commit, `commits.rs`) in one
            // statement: each execution's checkpoint and events go in only
            // if the fence, the status and the history's end are where its
            // writer thought they were; the ids of those that were come
            // back.
            //
            // Every condition on an execution row names a column of the
            // batch (even the status it must have, 'Running', is one), so
            // the planner sees only joins on the primary key and drives
            // them from the batch. A condition on the row alone (`status =
            // 'Running'`) lets it scan the table on an index of status and
            // compare every running execution with every transition of the
            // batch, which on a fresh schema's statistics it does (seen
            // with auto_explain: a second per batch). The rows are all
            // locked first (the count makes the update wait for every
            // lock), in the order of their ids, as the lease renewal locks
            // them, so two batches, or a batch and a renewal, never wait
            // for each other in a circle.
            commit: format!(
                "WITH t AS MATERIALIZED ( \
                     SELECT t.*, $24::text AS running \
                     FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], \
                         $5::bigint[], {checkpoint_at_6}, $25::text[]) \
                     AS t(id, fence, follows, stopped_at, last_event_id, {CHECKPOINT_COLUMNS}, \
                         callback)), \
                 locked AS MATERIALIZED ( \
                     SELECT e.id FROM t JOIN {s}.executions AS e ON e.id = t.id \
                     ORDER BY e.id FOR UPDATE OF e), \
                 updated AS ( \
                     UPDATE {s}.executions AS e SET state = t.state::json, entry = t.entry, \
                         attempt = t.attempt, retries = t.retries::bigint[], \
                         waiting = t.waiting, wake_at = t.wake_at, status = t.status, \
                         output = t.output::json, error_name = t.error_name, \
                         error_cause = t.error_cause, \
                         stopped_at = COALESCE(t.stopped_at, e.stopped_at), \
                         last_event_id = COALESCE(t.last_event_id, e.last_event_id), \
                         state_name = t.state_name, callback = t.callback \
                     FROM t WHERE e.id = t.id AND e.fence = t.fence AND e.status = t.running \
                         AND (t.follows IS NULL OR e.last_event_id = t.follows) \
                         AND (SELECT count(*) FROM locked) > 0 \
                     RETURNING e.id), \
                 inserted AS ( \
                     INSERT INTO {s}.events (execution, id, previous_id, at, kind, state, data) \
                     SELECT v.execution, v.id, v.previous_id, v.at, v.kind, v.state, \
                         v.data::json \
                     FROM unnest($17::text[], $18::bigint[], $19::bigint[], $20::bigint[], \
                         $21::text[], $22::text[], $23::text[]) \
                         AS v(execution, id, previous_id, at, kind, state, data) \
                     WHERE v.execution IN (SELECT id FROM updated)) \
                 SELECT id FROM updated"
            ),
            // Finished children and their events, under the same guard as a
            // commit; the checkpoint stays as it is.
            commit_children: format!(
                "WITH updated AS ( \
                     UPDATE {s}.executions SET last_event_id = COALESCE($4, last_event_id) \
                     WHERE id = $1 AND fence = $2 AND status = $11 \
                         AND ($3::bigint IS NULL OR last_event_id = $3) RETURNING id), \
                 inserted AS ( \
                     INSERT INTO {s}.events (execution, id, previous_id, at, kind, state, data) \
                     SELECT $1, e.id, e.previous_id, e.at, e.kind, e.state, e.data::json \
                     FROM unnest($5::bigint[], $6::bigint[], $7::bigint[], $8::text[], \
                         $9::text[], $10::text[]) AS e(id, previous_id, at, kind, state, data) \
                     WHERE EXISTS (SELECT 1 FROM updated)), \
                 kept AS ( \
                     INSERT INTO {s}.children (execution, entry, attempt, idx, output) \
                     SELECT $1, c.entry, c.attempt, c.idx, c.output::json \
                     FROM unnest($12::bigint[], $13::bigint[], $14::bigint[], $15::text[]) \
                         AS c(entry, attempt, idx, output) \
                     WHERE EXISTS (SELECT 1 FROM updated) \
                     ON CONFLICT (execution, entry, attempt, idx) \
                     DO UPDATE SET output = excluded.output) \
                 SELECT count(*) FROM updated"
            ),
            children: format!(
                "SELECT idx, output::text FROM {s}.children \
                 WHERE execution = $1 AND entry = $2 AND attempt = $3 ORDER BY idx"
            ),
            // Due first: an execution without a timer counts as due at the
            // claim's time, so a burst of starts does not starve timers
            // that came due before it. Three sources, each a range of an
            // index: what no worker holds and is due, or has no timer
            // (new, or let go mid-way), and leases that expired (a worker
            // that died). Executions that workers hold, most of those in
            // flight on a busy service, and those parked on a later timer
            // are not read. `= ANY(ARRAY(..))` makes the ids a value, so
            // the update finds them by the primary key instead of joining
            // the whole table with them.
            claim: format!(
                "WITH due AS ( \
                     SELECT id, wake_at FROM {s}.executions \
                     WHERE status = 'Running' AND lease_until IS NULL AND wake_at <= $3 \
                     ORDER BY wake_at LIMIT $5 \
                     FOR UPDATE SKIP LOCKED), \
                 untimed AS ( \
                     SELECT id, wake_at FROM {s}.executions \
                     WHERE status = 'Running' AND lease_until IS NULL AND wake_at IS NULL \
                     LIMIT $5 \
                     FOR UPDATE SKIP LOCKED), \
                 expired AS ( \
                     SELECT id, wake_at FROM {s}.executions \
                     WHERE status = 'Running' AND lease_until <= $4 \
                         AND (wake_at IS NULL OR wake_at <= $3) \
                     ORDER BY COALESCE(wake_at, $3) LIMIT $5 \
                     FOR UPDATE SKIP LOCKED) \
                 UPDATE {s}.executions SET fence = fence + 1, lease_owner = $1, \
                     lease_until = $2 \
                 WHERE id = ANY(ARRAY( \
                     SELECT id FROM ( \
                         SELECT * FROM due UNION ALL SELECT * FROM untimed \
                         UNION ALL SELECT * FROM expired) AS runnable \
                     ORDER BY COALESCE(wake_at, $3) LIMIT $5)) \
                 RETURNING {COLUMNS}"
            ),
            release: format!(
                "WITH released AS ( \
                     UPDATE {s}.executions SET lease_owner = NULL, lease_until = NULL \
                     WHERE id = $1 AND fence = $2 AND status = $4 RETURNING id) \
                 SELECT pg_notify($3, 'park') FROM released"
            ),
            // Locks in the order of the ids, as a group commit does.
            // Locks in the order of the ids, as a group commit does, and,
            // like it, puts no condition on an execution row alone (the
            // status it must have is the held list's column).
            renew: format!(
                "WITH held AS MATERIALIZED ( \
                     SELECT held.*, $4::text AS running \
                     FROM unnest($2::text[], $3::bigint[]) AS held(id, fence)), \
                 locked AS MATERIALIZED ( \
                     SELECT e.id FROM held JOIN {s}.executions AS e ON e.id = held.id \
                     ORDER BY e.id FOR UPDATE OF e) \
                 UPDATE {s}.executions AS e SET lease_until = $1 \
                 FROM held \
                 WHERE e.id = held.id AND e.fence = held.fence AND e.status = held.running \
                     AND e.lease_until IS NOT NULL AND (SELECT count(*) FROM locked) > 0 \
                 RETURNING e.id"
            ),
            // The same sources as a claim, each its own index's first
            // entry (written out: `MIN` over a partial index reads all of
            // it on a schema without statistics).
            next_wake: format!(
                "SELECT LEAST( \
                     (SELECT wake_at FROM {s}.executions \
                      WHERE status = 'Running' AND lease_until IS NULL \
                          AND wake_at IS NOT NULL \
                      ORDER BY wake_at LIMIT 1), \
                     (SELECT MIN(wake_at) FROM {s}.executions \
                      WHERE status = 'Running' AND lease_until <= $1))"
            ),
            history: format!(
                "SELECT id, previous_id, at, kind, state, data::text FROM {s}.events \
                 WHERE execution = $1 ORDER BY id"
            ),
            list: format!(
                "SELECT {COLUMNS} FROM {s}.executions \
                 WHERE ($1::text IS NULL OR workflow = $1) AND ($2::text IS NULL OR status = $2) \
                 ORDER BY seq"
            ),
            // One statement, so one transaction: the executions (ended, so
            // no commit writes them any more), then their events, finished
            // children, callback answers (keys whose part before the first
            // `/` is the id, as the engine reads them) and awaited
            // callbacks. SKIP LOCKED: purges run
            // by several workers at once take different executions instead
            // of waiting for each other. The partial index of ended
            // executions by stop time finds them without reading the
            // running ones.
            purge: format!(
                "WITH purged AS ( \
                     DELETE FROM {s}.executions WHERE id IN ( \
                         SELECT id FROM {s}.executions \
                         WHERE status <> 'Running' AND stopped_at < $1 \
                         LIMIT $2 \
                         FOR UPDATE SKIP LOCKED) \
                     RETURNING id), \
                 events AS ( \
                     DELETE FROM {s}.events WHERE execution IN (SELECT id FROM purged)), \
                 children AS ( \
                     DELETE FROM {s}.children WHERE execution IN (SELECT id FROM purged)), \
                 callbacks AS ( \
                     DELETE FROM {s}.callbacks \
                     WHERE split_part(token, '/', 1) IN (SELECT id FROM purged)), \
                 awaited AS ( \
                     DELETE FROM {s}.awaited_callbacks \
                     WHERE execution IN (SELECT id FROM purged)) \
                 SELECT count(*) FROM purged"
            ),
            // The answered task waits no more: its awaited row goes (an
            // answer that loses the race finds it gone already).
            complete_callback: format!(
                "WITH inserted AS ( \
                     INSERT INTO {s}.callbacks (token, succeeded, output, error, cause) \
                     VALUES ($1, $2, $3::text::json, $4, $5) \
                     ON CONFLICT (token) DO NOTHING RETURNING token), \
                 answered AS ( \
                     DELETE FROM {s}.awaited_callbacks WHERE key = $1) \
                 SELECT pg_notify($6, 'callback') FROM inserted"
            ),
            // A parked callback's new wake-up time; the other workers hear
            // of it as of a park, since it may now be due.
            wake_callback: format!(
                "WITH woken AS ( \
                     UPDATE {s}.executions SET wake_at = $4 \
                     WHERE id = $1 AND status = $6 AND callback IS NOT NULL \
                         AND state_name = $2 AND entry = $3 RETURNING id) \
                 SELECT pg_notify($5, 'park') FROM woken"
            ),
            await_callback: format!(
                "INSERT INTO {s}.awaited_callbacks \
                     (key, token, execution, anchor_state, anchor_entry, state, since, message) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::json) \
                 ON CONFLICT (key) DO NOTHING"
            ),
            // Waiting: the execution runs, at the anchor, and no answer
            // is stored for the key.
            pending_callbacks: format!(
                "SELECT a.seq, a.token, a.execution, e.name, e.workflow, a.state, a.since, \
                     a.message::text \
                 FROM {s}.awaited_callbacks AS a JOIN {s}.executions AS e ON e.id = a.execution \
                 WHERE a.seq > $1 AND ($2::text IS NULL OR a.execution = $2) \
                     AND ($3::text IS NULL OR e.workflow = $3) AND e.status = 'Running' \
                     AND e.state_name = a.anchor_state AND e.entry = a.anchor_entry \
                     AND NOT EXISTS (SELECT 1 FROM {s}.callbacks AS c WHERE c.token = a.key) \
                 ORDER BY a.seq LIMIT $4"
            ),
            callback: format!(
                "SELECT succeeded, output::text, error, cause FROM {s}.callbacks \
                 WHERE token = $1"
            ),
            save_definition: format!(
                "INSERT INTO {s}.definitions (workflow, version, definition) \
                 VALUES ($1, $2, $3::text::json) ON CONFLICT (workflow, version) DO NOTHING"
            ),
            definitions: format!(
                "SELECT workflow, version, definition::text FROM {s}.definitions ORDER BY seq"
            ),
        }
    }
}

#[cfg(test)]
mod plans;
