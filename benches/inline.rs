//! Inline typed execution of a 10-state workflow whose tasks do no work,
//! against a hand-written async `match` loop over the same handlers, in one
//! run. The goal (README, Benchmarks): at most 1.1x the hand-written loop.
//!
//! ```text
//! cargo bench -p workflow-benches --bench inline
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use workflow::prelude::*;

#[path = "common/ten.rs"]
mod ten;

use ten::Ten;

/// The same machine written by hand: an enum and an async `match` loop
/// calling the same handler, with none of the engine's services.
enum Hand {
    Task(u8, u64),
    Done(u64),
}

async fn by_hand(n: u64) -> u64 {
    let mut state = Hand::Task(1, n);
    loop {
        state = match state {
            Hand::Task(i, n) => {
                let out = by_hand_step(n).await.unwrap_or(n);
                if i == 9 {
                    Hand::Done(out)
                } else {
                    Hand::Task(i + 1, out)
                }
            }
            Hand::Done(n) => return n,
        }
    }
}

async fn by_hand_step(n: u64) -> Result<u64, std::convert::Infallible> {
    Ok(black_box(n) + 1)
}

fn inline(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("inline_10_states");
    group.bench_function("workflow", |b| {
        b.iter(|| runtime.block_on(Ten::run(&(), black_box(1))))
    });
    group.bench_function("hand_written", |b| {
        b.iter(|| runtime.block_on(by_hand(black_box(1))))
    });
    group.finish();
}

criterion_group!(benches, inline);
criterion_main!(benches);
