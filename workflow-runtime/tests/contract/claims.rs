//! Claims and leases: which executions a claim takes and in what order,
//! expiring and renewed leases, timers, and the next wake-up.

use super::*;

pub async fn claims_take_due_unleased_running_executions(store: &dyn Store) {
    let now = at(100);
    for (id, wake) in [
        ("soon", Some(at(90))),
        ("later", Some(at(500))),
        ("now", None),
    ] {
        let fence = create(store, id, id).await;
        store
            .commit(transition(
                id,
                fence,
                vec![],
                checkpoint(id, Status::Running, wake),
            ))
            .await
            .unwrap();
    }
    let fence = create(store, "ended", "ended").await;
    store
        .commit(transition(
            "ended",
            fence,
            vec![],
            checkpoint("x", Status::Succeeded, None),
        ))
        .await
        .unwrap();
    // Leases from creation hold until at(30): expired by now.
    let claimed = store
        .claim(claim("w2", now, false))
        .await
        .unwrap()
        .executions;
    assert!(claimed.iter().all(|e| e.fence == 2));
    assert_eq!(sorted(ids(claimed)), ["now", "soon"]);
    // Claimed executions are leased: a second claim finds nothing.
    assert_eq!(
        store
            .claim(claim("w3", now, false))
            .await
            .unwrap()
            .executions,
        []
    );
    // Released, an execution can be claimed again, with a new fence.
    store.release("soon", 2).await.unwrap();
    let again = store
        .claim(claim("w3", now, false))
        .await
        .unwrap()
        .executions;
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].id.as_str(), again[0].fence), ("soon", 3));
    assert_eq!(
        store.release("soon", 2).await,
        Err(StoreError::Fenced {
            execution: "soon".into(),
            held: 2
        })
    );
    // "soon" (at 90) is claimed again, "later" (at 500) nobody holds.
    assert_eq!(store.next_wake(now).await.unwrap(), Some(at(500)));
    store.release("soon", 3).await.unwrap();
    assert_eq!(store.next_wake(now).await.unwrap(), Some(at(90)));
}

/// Creates an execution parked until `wake` (released, nobody holds it).
pub async fn parked(store: &dyn Store, id: &str, wake: Option<SystemTime>) {
    let fence = create(store, id, id).await;
    store
        .commit(transition(
            id,
            fence,
            vec![],
            checkpoint(id, Status::Running, wake),
        ))
        .await
        .unwrap();
    store.release(id, fence).await.unwrap();
}

/// A claim at `now` that takes over nothing, of at most `limit`.
pub fn claim_at(now: SystemTime, limit: usize) -> Claim {
    Claim {
        limit,
        ..claim("w2", now, false)
    }
}

pub async fn an_expired_lease_makes_an_execution_claimable(store: &dyn Store) {
    // Created leased until at(30), due at once.
    create(store, "e1", "e1").await;
    assert_eq!(
        store.claim(claim_at(at(29), 100)).await.unwrap().executions,
        []
    );
    let taken = store.claim(claim_at(at(30), 100)).await.unwrap().executions;
    assert_eq!(ids(taken), ["e1"]);
    // Claimed again, it is leased until at(60).
    assert_eq!(
        store.claim(claim_at(at(59), 100)).await.unwrap().executions,
        []
    );
    let again = store.claim(claim_at(at(60), 100)).await.unwrap().executions;
    assert_eq!(
        again
            .iter()
            .map(|e| (e.id.as_str(), e.fence))
            .collect::<Vec<_>>(),
        [("e1", 3)]
    );
    // A held execution's timer counts once its lease has expired.
    let fence = create(store, "e2", "e2").await;
    store
        .commit(transition(
            "e2",
            fence,
            vec![],
            checkpoint("a", Status::Running, Some(at(10))),
        ))
        .await
        .unwrap();
    assert_eq!(store.next_wake(at(29)).await.unwrap(), None);
    assert_eq!(store.next_wake(at(30)).await.unwrap(), Some(at(10)));
}

pub async fn a_committed_timer_moves_the_execution(store: &dyn Store) {
    parked(store, "e1", Some(at(500))).await;
    assert_eq!(store.next_wake(at(100)).await.unwrap(), Some(at(500)));
    assert_eq!(
        store
            .claim(claim_at(at(100), 100))
            .await
            .unwrap()
            .executions,
        []
    );
    // Taken early, and parked again sooner.
    let early = Claim {
        due_by: at(500),
        ..claim_at(at(100), 100)
    };
    let taken = store.claim(early).await.unwrap().executions;
    assert_eq!(taken.len(), 1);
    let fence = taken[0].fence;
    assert_eq!(store.next_wake(at(100)).await.unwrap(), None);
    store
        .commit(transition(
            "e1",
            fence,
            vec![],
            checkpoint("b", Status::Running, Some(at(200))),
        ))
        .await
        .unwrap();
    store.release("e1", fence).await.unwrap();
    assert_eq!(store.next_wake(at(100)).await.unwrap(), Some(at(200)));
    assert_eq!(
        store
            .claim(claim_at(at(199), 100))
            .await
            .unwrap()
            .executions,
        []
    );
    let due = store
        .claim(claim_at(at(200), 100))
        .await
        .unwrap()
        .executions;
    assert_eq!(due.len(), 1);
    // And parked again later.
    let fence = due[0].fence;
    store
        .commit(transition(
            "e1",
            fence,
            vec![],
            checkpoint("c", Status::Running, Some(at(900))),
        ))
        .await
        .unwrap();
    store.release("e1", fence).await.unwrap();
    assert_eq!(store.next_wake(at(200)).await.unwrap(), Some(at(900)));
    assert_eq!(
        store
            .claim(claim_at(at(899), 100))
            .await
            .unwrap()
            .executions,
        []
    );
    assert_eq!(
        ids(store
            .claim(claim_at(at(900), 100))
            .await
            .unwrap()
            .executions),
        ["e1"]
    );
}

pub async fn an_ended_execution_is_never_claimed(store: &dyn Store) {
    let end = |id: &'static str, status, wake| async move {
        let fence = create(store, id, id).await;
        let mut last = transition(id, fence, vec![], checkpoint(id, status, wake));
        last.stopped_at = Some(at(5));
        store.commit(last).await.unwrap();
        fence
    };
    // Ended while held, with a stale timer left in its checkpoint.
    end("held", Status::Succeeded, Some(at(10))).await;
    // Ended, then released: the release is refused, and changes nothing.
    let fence = end("released", Status::Failed, Some(at(10))).await;
    assert_eq!(
        store.release("released", fence).await,
        Err(StoreError::Ended("released".into()))
    );
    // Parked, then aborted by a claimer.
    parked(store, "aborted", Some(at(10))).await;
    let taken = store.claim(claim_at(at(10), 100)).await.unwrap().executions;
    assert_eq!(ids(taken), ["aborted"]);
    store
        .commit(transition(
            "aborted",
            2,
            vec![],
            checkpoint("x", Status::Aborted, Some(at(10))),
        ))
        .await
        .unwrap();
    assert!(store.release("aborted", 2).await.is_err());
    assert_eq!(
        store
            .claim(claim("w3", at(100), true))
            .await
            .unwrap()
            .executions,
        []
    );
    assert_eq!(store.next_wake(at(1_000_000)).await.unwrap(), None);
}

pub async fn renewing_keeps_the_leases_still_held_and_reports_the_lost(store: &dyn Store) {
    // e1 and e2 are created by w1 (leases until 30) and claimed by w2 once
    // they expired (fence 2); e3 is w1's.
    create(store, "e1", "order-1").await;
    create(store, "e2", "order-2").await;
    let taken = store
        .claim(claim_by("w2", at(40), 10))
        .await
        .unwrap()
        .executions;
    assert_eq!(sorted(ids(taken)), ["e1", "e2"]);
    create(store, "e3", "order-3").await;
    // w2 renews until 1000; w1 still thinks it holds e1 with fence 1: lost.
    let held = |list: &[(&str, u64)]| {
        list.iter()
            .map(|&(id, fence)| (id.to_owned(), fence))
            .collect::<Vec<_>>()
    };
    let lost = store
        .renew_leases(held(&[("e1", 2), ("e2", 2)]), at(1000))
        .await
        .unwrap();
    assert_eq!(lost, Vec::<String>::new());
    let lost = store
        .renew_leases(held(&[("e1", 1), ("nope", 1)]), at(1000))
        .await
        .unwrap();
    assert_eq!(sorted(lost), ["e1", "nope"]);
    let at_500 = store
        .claim(claim_by("w3", at(500), 10))
        .await
        .unwrap()
        .executions;
    assert_eq!(
        ids(at_500),
        ["e3"],
        "only the lease that was not renewed expired"
    );
    // A released (parked) execution is not leased again by a renewal.
    let fence = store.execution("e3").await.unwrap().unwrap().fence;
    store.release("e3", fence).await.unwrap();
    let lost = store
        .renew_leases(held(&[("e3", fence)]), at(2000))
        .await
        .unwrap();
    assert_eq!(lost, ["e3"]);
    // A renewal into the past gives the lease up: claimable at once.
    store
        .renew_leases(held(&[("e2", 2)]), UNIX_EPOCH)
        .await
        .unwrap();
    assert_eq!(
        sorted(ids(store
            .claim(claim_by("w4", at(600), 10))
            .await
            .unwrap()
            .executions)),
        ["e2", "e3"]
    );
}

fn claim_by(owner: &str, now: SystemTime, limit: usize) -> Claim {
    Claim {
        owner: owner.to_owned(),
        lease_until: now + Duration::from_secs(30),
        due_by: now,
        leases_expired_by: now,
        limit,
    }
}

pub async fn next_wake_is_the_earliest_timer_nobody_holds(store: &dyn Store) {
    assert_eq!(store.next_wake(at(0)).await.unwrap(), None);
    // No timer: due at once, but not a wake-up time.
    parked(store, "none", None).await;
    assert_eq!(store.next_wake(at(100)).await.unwrap(), None);
    for (id, wake) in [("c", 300), ("a", 100), ("b", 200)] {
        parked(store, id, Some(at(wake))).await;
    }
    assert_eq!(store.next_wake(at(100)).await.unwrap(), Some(at(100)));
    // Held until at(30), due earlier than every parked one.
    let fence = create(store, "held", "held").await;
    store
        .commit(transition(
            "held",
            fence,
            vec![],
            checkpoint("h", Status::Running, Some(at(50))),
        ))
        .await
        .unwrap();
    assert_eq!(store.next_wake(at(29)).await.unwrap(), Some(at(100)));
    assert_eq!(store.next_wake(at(30)).await.unwrap(), Some(at(50)));
    // The earliest taken, the next earliest is next.
    let taken = store.claim(claim_at(at(20), 100)).await.unwrap().executions;
    assert_eq!(ids(taken), ["none"]);
    // "none"'s new lease (until at(50)) has expired by then too.
    let taken = store
        .claim(claim_at(at(100), 100))
        .await
        .unwrap()
        .executions;
    assert_eq!(sorted(ids(taken)), ["a", "held", "none"]);
    assert_eq!(store.next_wake(at(100)).await.unwrap(), Some(at(200)));
}

pub async fn a_claim_takes_at_most_its_limit(store: &dyn Store) {
    for id in ["a", "b", "c", "d", "e"] {
        parked(store, id, Some(at(10))).await;
    }
    assert_eq!(
        store.claim(claim_at(at(10), 0)).await.unwrap().executions,
        []
    );
    let first = ids(store.claim(claim_at(at(10), 2)).await.unwrap().executions);
    let second = ids(store.claim(claim_at(at(10), 2)).await.unwrap().executions);
    let third = ids(store.claim(claim_at(at(10), 2)).await.unwrap().executions);
    assert_eq!((first.len(), second.len(), third.len()), (2, 2, 1));
    let all = sorted([first, second, third].concat());
    assert_eq!(all, ["a", "b", "c", "d", "e"]);
    assert_eq!(
        store.claim(claim_at(at(10), 2)).await.unwrap().executions,
        []
    );
}
