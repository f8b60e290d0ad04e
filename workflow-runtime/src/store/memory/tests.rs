//! The memory store's claim indexes against a scan of every row.

use std::time::{Duration, UNIX_EPOCH};

use super::*;

pub(super) fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

pub(super) fn checkpoint(status: Status, wake_at: Option<SystemTime>) -> Checkpoint {
    Checkpoint {
        state: "{}".to_owned(),
        state_name: "S".to_owned(),
        entry: 0,
        attempt: 1,
        retries: Vec::new(),
        waiting: None,
        wake_at,
        callback: None,
        status,
        output: None,
        error: None,
    }
}

fn claim(now: SystemTime, leases_expired_by: SystemTime, limit: usize) -> Claim {
    Claim {
        owner: "w".to_owned(),
        lease_until: now + Duration::from_secs(30),
        due_by: now,
        leases_expired_by,
        limit,
    }
}

/// The indexes hold exactly what the rows say, and nothing else; the
/// maps find every live row, and no tombstone.
fn assert_indexed(store: &MemoryStore) {
    let inner = store.inner.lock().unwrap();
    let mut due = BTreeSet::new();
    let mut leased = BTreeSet::new();
    let live = inner.rows.iter().filter(|row| !row.purged).count();
    assert_eq!(inner.rows.len() - live, inner.tombstones);
    assert_eq!((inner.by_id.len(), inner.by_name.len()), (live, live));
    for (slot, row) in inner.rows.iter().enumerate() {
        let slot = Slot::try_from(slot).unwrap();
        if !row.purged {
            assert_eq!(inner.slot(&row.id().unwrap()), Some(slot));
            assert_eq!(inner.named(&row.name().unwrap()), Some(slot));
        }
        match row.index_key() {
            Some(IndexKey::Due(at)) => due.insert(DueKey::new(at, slot)),
            Some(IndexKey::Leased(until)) => leased.insert((until, slot)),
            None => false,
        };
    }
    let indexed: BTreeSet<DueKey> = inner.due.iter().collect();
    assert_eq!(indexed, due, "the due index is stale");
    assert_eq!(inner.leased, leased, "the lease index is stale");
}

/// What a claim may take, by looking at every row: the rule the
/// indexes must agree with.
/// Ties go to the earliest started.
fn eligible(store: &MemoryStore, claim: &Claim) -> Vec<(Option<SystemTime>, usize, String)> {
    let inner = store.inner.lock().unwrap();
    let mut eligible: Vec<_> = inner
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.status == Status::Running)
        .filter(|(_, r)| {
            let meta = r.meta().unwrap();
            meta.wake_at.is_none_or(|t| t <= claim.due_by)
                && meta
                    .lease_until
                    .is_none_or(|t| t <= claim.leases_expired_by)
        })
        .map(|(n, r)| (r.meta().unwrap().wake_at, n, r.id().unwrap()))
        .collect();
    eligible.sort();
    eligible
}

fn next_wake_by_scan(store: &MemoryStore, leases_expired_by: SystemTime) -> Option<SystemTime> {
    let inner = store.inner.lock().unwrap();
    inner
        .rows
        .iter()
        .filter(|r| r.status == Status::Running)
        .map(|r| r.meta().unwrap())
        .filter(|meta| meta.lease_until.is_none_or(|t| t <= leases_expired_by))
        .filter_map(|meta| meta.wake_at)
        .min()
}

/// Random creates, commits, claims, releases and purges: after each,
/// the indexes match the rows, and claims, `next_wake` and purges give
/// what a scan of every row would.
#[tokio::test]
async fn the_indexes_agree_with_a_scan_of_every_row() {
    let mut rng = fastrand::Rng::with_seed(7);
    // The last rounds keep to a few executions and end them often, so
    // tombstones come to outnumber the living and purges sweep them.
    for round in 0..30 {
        let (ends_one_in, most) = if round < 20 { (6, usize::MAX) } else { (2, 12) };
        let store = MemoryStore::new();
        // The fence each execution was last claimed with.
        let mut fences: Vec<u64> = Vec::new();
        for _ in 0..300 {
            let now = at(rng.u64(0..200));
            match rng.u8(0..5) {
                0 if fences.len() < most => {
                    let id = format!("e{}", fences.len());
                    let wake = rng.bool().then(|| at(rng.u64(0..200)));
                    let new = NewExecution {
                        id: id.clone(),
                        name: id,
                        workflow: "W".to_owned(),
                        path: None,
                        version: "v".to_owned(),
                        input: "1".to_owned(),
                        checkpoint: checkpoint(Status::Running, wake),
                        started_at: now,
                        callback_secret: String::new(),
                    };
                    store.create(new, "w", now).await.unwrap();
                    fences.push(1);
                }
                1 if !fences.is_empty() => {
                    let n = rng.usize(0..fences.len());
                    let status = if rng.u8(0..ends_one_in) == 0 {
                        Status::Succeeded
                    } else {
                        Status::Running
                    };
                    let wake = rng.bool().then(|| at(rng.u64(0..200)));
                    let commit = Transition {
                        execution: format!("e{n}"),
                        fence: fences[n],
                        checkpoint: checkpoint(status, wake),
                        events: Vec::new(),
                        stopped_at: (status != Status::Running).then_some(now),
                    };
                    // A stale fence is refused and changes nothing.
                    let _ = store.commit(commit).await;
                }
                2 if !fences.is_empty() => {
                    let n = rng.usize(0..fences.len());
                    let _ = store.release(&format!("e{n}"), fences[n]).await;
                }
                3 => {
                    let limit = rng.usize(0..4);
                    // The earliest started of those that ended before now.
                    let doomed: Vec<String> = {
                        let inner = store.inner.lock().unwrap();
                        inner
                            .rows
                            .iter()
                            .filter(|r| !r.purged && r.status != Status::Running)
                            .filter(|r| r.meta().unwrap().stopped_at.is_some_and(|t| t < now))
                            .take(limit)
                            .map(|r| r.id().unwrap())
                            .collect()
                    };
                    let purged = store.purge(now, limit).await.unwrap();
                    assert_eq!(purged, doomed.len() as u64);
                    for id in &doomed {
                        assert_eq!(store.execution(id).await.unwrap(), None);
                    }
                }
                _ => {
                    let expired = if rng.bool() { now } else { at(1_000) };
                    let claim = claim(now, expired, rng.usize(0..4));
                    let expected = eligible(&store, &claim);
                    let claimed = store.claim(claim.clone()).await.unwrap().executions;
                    // The earliest due, up to the limit.
                    let want: Vec<_> = expected
                        .iter()
                        .take(claim.limit)
                        .map(|(_, _, id)| id.clone())
                        .collect();
                    let got: Vec<_> = claimed.iter().map(|e| e.id.clone()).collect();
                    assert_eq!(got, want);
                    for e in &claimed {
                        let n: usize = e.id[1..].parse().unwrap();
                        assert_eq!(e.fence, fences[n] + 1);
                        fences[n] = e.fence;
                    }
                }
            }
            assert_indexed(&store);
            for expired in [now, at(1_000)] {
                assert_eq!(
                    store.next_wake(expired).await.unwrap(),
                    next_wake_by_scan(&store, expired)
                );
            }
        }
    }
}

#[tokio::test]
async fn a_claim_takes_the_earliest_due_first() {
    let store = MemoryStore::new();
    for (id, wake) in [
        ("late", Some(at(90))),
        ("early", Some(at(10))),
        ("now", None),
    ] {
        let new = NewExecution {
            id: id.to_owned(),
            name: id.to_owned(),
            workflow: "W".to_owned(),
            path: None,
            version: "v".to_owned(),
            input: "1".to_owned(),
            checkpoint: checkpoint(Status::Running, wake),
            started_at: at(0),
            callback_secret: String::new(),
        };
        store.create(new, "w", at(0)).await.unwrap();
        store.release(id, 1).await.unwrap();
    }
    let claimed = store
        .claim(claim(at(100), at(100), 2))
        .await
        .unwrap()
        .executions;
    let ids: Vec<_> = claimed.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["now", "early"]);
}

#[tokio::test]
async fn a_taken_id_is_refused_and_changes_nothing() {
    let store = MemoryStore::new();
    let new = |name: &str| NewExecution {
        id: "e1".to_owned(),
        name: name.to_owned(),
        workflow: "W".to_owned(),
        path: None,
        version: "v".to_owned(),
        input: "1".to_owned(),
        checkpoint: checkpoint(Status::Running, None),
        started_at: at(0),
        callback_secret: String::new(),
    };
    store.create(new("first"), "w", at(0)).await.unwrap();
    let again = store.create(new("second"), "w", at(0)).await;
    assert!(matches!(again, Err(StoreError::Database(_))), "{again:?}");
    let all = store.list(Filter::default()).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].name, "first");
    assert_indexed(&store);
}

/// Every shape of head (hex and other ids and secrets, with and without a
/// path), checkpoint (waiting here or elsewhere, retries, output, error)
/// and meta (fence, lease, wake-up and stop times) reads back as written.
#[tokio::test]
async fn an_execution_reads_back_as_written() {
    use crate::error_info::ErrorInfo;
    let store = MemoryStore::new();
    let heads = [
        (
            "0190f0e0a1b2c3d4e5f60718293a4b5c",
            Some("crate::W"),
            "ab".repeat(32),
        ),
        ("user-id-é", None, "not hex".to_owned()),
    ];
    for (n, (id, path, secret)) in heads.into_iter().enumerate() {
        let mut expected = StoredExecution {
            id: id.to_owned(),
            name: format!("name-{n}"),
            workflow: "W".to_owned(),
            path: path.map(str::to_owned),
            version: "v1".to_owned(),
            input: "{\"n\":\"é\"}".to_owned(),
            checkpoint: checkpoint(Status::Running, None),
            started_at: at(5) - Duration::from_nanos(3),
            stopped_at: None,
            last_event_id: 0,
            fence: 1,
            callback_secret: secret,
        };
        let new = NewExecution {
            id: expected.id.clone(),
            name: expected.name.clone(),
            workflow: expected.workflow.clone(),
            path: expected.path.clone(),
            version: expected.version.clone(),
            input: expected.input.clone(),
            checkpoint: expected.checkpoint.clone(),
            started_at: expected.started_at,
            callback_secret: expected.callback_secret.clone(),
        };
        store.create(new, "w", at(30)).await.unwrap();
        assert_eq!(store.execution(id).await.unwrap().as_ref(), Some(&expected));
        let checkpoints = [
            Checkpoint {
                state: "{\"Done\":12346}".to_owned(),
                state_name: "Sleep".to_owned(),
                entry: 2,
                waiting: Some("Sleep".to_owned()),
                wake_at: Some(at(86_400)),
                callback: None,
                ..checkpoint(Status::Running, None)
            },
            Checkpoint {
                state: String::new(),
                state_name: "Ask".to_owned(),
                entry: 1_000,
                attempt: 3,
                retries: vec![1, 2, 300],
                waiting: Some("Elsewhere".to_owned()),
                wake_at: Some(at(0) - Duration::from_secs(1)),
                callback: None,
                ..checkpoint(Status::Running, None)
            },
            Checkpoint {
                output: Some("{\"out\":[1]}".to_owned()),
                error: Some(ErrorInfo::new("States.Timeout", "too slow: é")),
                ..checkpoint(Status::Failed, None)
            },
        ];
        for (i, checkpoint) in checkpoints.into_iter().enumerate() {
            let ended = checkpoint.status != Status::Running;
            let event = Event {
                id: i as u64 + 1,
                previous_event_id: i as u64,
                timestamp: at(6 + i as u64),
                kind: crate::history::EventKind::TaskStateEntered,
                state: Some(checkpoint.state_name.clone().into()),
                data: Some(expected.input.clone()),
            };
            let stopped_at = ended.then(|| at(9));
            store
                .commit(Transition {
                    execution: id.to_owned(),
                    fence: expected.fence,
                    checkpoint: checkpoint.clone(),
                    events: vec![event],
                    stopped_at,
                })
                .await
                .unwrap();
            expected.checkpoint = checkpoint;
            expected.last_event_id += 1;
            expected.stopped_at = stopped_at;
            assert_eq!(store.execution(id).await.unwrap().as_ref(), Some(&expected));
            if !ended {
                // Released, then claimed again: a new fence, a new lease.
                store.release(id, expected.fence).await.unwrap();
                let claim = claim(at(100_000), at(0), 10);
                let claimed = store.claim(claim).await.unwrap().executions;
                expected.fence += 1;
                assert_eq!(claimed, [expected.clone()]);
            }
        }
        let named = store.execution_named(&expected.name).await.unwrap();
        assert_eq!(named.as_ref(), Some(&expected));
        assert_eq!(store.history(id).await.unwrap().len(), 3);
    }
    assert_indexed(&store);
}

/// An execution parked in a Wait state after a task (what
/// `benches/memory.rs` parks by the hundred thousand) takes one buffer of
/// about 135 bytes, and nothing spare.
#[tokio::test]
async fn a_parked_execution_is_one_small_buffer() {
    use crate::history::EventKind::*;
    let store = MemoryStore::new();
    let id = "019ad8a2f1e27c40a503e2859aa888b9";
    let new = NewExecution {
        id: id.to_owned(),
        name: "nap-12345".to_owned(),
        workflow: "Nap".to_owned(),
        path: Some("memory::Nap".to_owned()),
        version: "1e436283639c7871".to_owned(),
        input: "12345".to_owned(),
        checkpoint: Checkpoint {
            state: "{\"Prepare\":12345}".to_owned(),
            state_name: "Prepare".to_owned(),
            ..checkpoint(Status::Running, None)
        },
        started_at: at(0),
        callback_secret: "0123456789abcdef".repeat(4),
    };
    store.create(new, "w", at(30)).await.unwrap();
    let micros = |n: u64| at(0) + Duration::from_micros(n);
    let event = |id: u64, kind, time, state: &'static str, data: Option<&str>| Event {
        id,
        previous_event_id: id - 1,
        timestamp: time,
        kind,
        state: (id > 1).then_some(state.into()),
        data: data.map(str::to_owned),
    };
    let events = vec![
        event(1, ExecutionStarted, micros(334), "", Some("12345")),
        event(2, TaskStateEntered, micros(343), "Prepare", Some("12345")),
        event(3, TaskScheduled, micros(343), "Prepare", None),
        event(4, TaskStarted, micros(343), "Prepare", None),
        event(5, TaskSucceeded, micros(392), "Prepare", None),
        event(6, TaskStateExited, micros(392), "Prepare", Some("12346")),
        event(7, WaitStateEntered, micros(398), "Sleep", Some("12346")),
    ];
    let parked = Checkpoint {
        state: "{\"Done\":12346}".to_owned(),
        state_name: "Sleep".to_owned(),
        entry: 2,
        waiting: Some("Sleep".to_owned()),
        wake_at: Some(micros(398) + Duration::from_secs(86_400)),
        callback: None,
        ..checkpoint(Status::Running, None)
    };
    store
        .commit(Transition {
            execution: id.to_owned(),
            fence: 1,
            checkpoint: parked,
            events: events.clone(),
            stopped_at: None,
        })
        .await
        .unwrap();
    store.release(id, 1).await.unwrap();
    assert_eq!(store.history(id).await.unwrap(), events);
    let inner = store.lock();
    let row = &inner.rows[0];
    let bytes = row.allocated();
    eprintln!(
        "a parked execution: a {}-byte row and a {bytes}-byte buffer",
        std::mem::size_of::<Row>()
    );
    assert_eq!(std::mem::size_of::<Row>(), 24);
    // 136 bytes and glibc's 8-byte chunk header fit a 144-byte chunk.
    assert!(bytes <= 136, "{bytes} bytes");
}
