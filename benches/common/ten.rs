//! The workflow the benchmarks run: ten states, nine no-op tasks.

use serde::{Deserialize, Serialize};
use workflow::prelude::*;

#[workflow]
#[derive(Serialize, Deserialize)]
pub enum Ten {
    #[start]
    #[task(step, next = S2)]
    S1(u64),
    #[task(step, next = S3)]
    S2(u64),
    #[task(step, next = S4)]
    S3(u64),
    #[task(step, next = S5)]
    S4(u64),
    #[task(step, next = S6)]
    S5(u64),
    #[task(step, next = S7)]
    S6(u64),
    #[task(step, next = S8)]
    S7(u64),
    #[task(step, next = S9)]
    S8(u64),
    #[task(step, next = S10)]
    S9(u64),
    #[succeed]
    S10(u64),
}

/// The handler every task runs: one addition the optimizer cannot see through.
pub async fn step(_cx: Ctx<'_, ()>, n: u64) -> Result<u64, std::convert::Infallible> {
    Ok(std::hint::black_box(n) + 1)
}
