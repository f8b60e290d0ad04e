//! Choice, pass, wait and map items functions that read the workflow's
//! context: the same input takes another branch, gets another value, waits
//! another time and spreads into other items under another context, inline
//! and on an engine (in memory and on SQLite). Paused clock throughout.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use workflow::Clock;
use workflow::prelude::*;
use workflow::store::{MemoryStore, SqliteStore, Store};

/// Settings that would otherwise travel in the input.
pub struct Shop {
    /// Orders above it are large.
    limit: u32,
    /// Added to a large order.
    bonus: u32,
    /// How long every order pauses.
    pause: Duration,
    /// When the shop opens; orders wait for it.
    opens: SystemTime,
}

#[workflow(context = Shop)]
#[derive(Serialize, Deserialize)]
pub enum Order {
    #[start]
    #[choice(route, next = [Large, Small])]
    Route(u32),

    #[pass(add_bonus, next = Pause)]
    Large(u32),

    // The form without the context, beside the others.
    #[pass(double, next = Pause)]
    Small(u32),

    #[wait(delay = pause, next = Open)]
    Pause(u32),

    #[wait(until = opening, next = Done)]
    Open(u32),

    #[succeed]
    Done(u32),
}

fn route(shop: &Shop, n: u32) -> order::Route {
    if n > shop.limit {
        order::Route::Large(n)
    } else {
        order::Route::Small(n)
    }
}

fn add_bonus(shop: &Shop, n: u32) -> u32 {
    n + shop.bonus
}

fn double(n: u32) -> u32 {
    n * 2
}

fn pause(shop: &Shop, _n: &u32) -> Duration {
    shop.pause
}

fn opening(shop: &Shop, _n: &u32) -> SystemTime {
    shop.opens
}

/// A map whose items the context decides, run by a workflow that reads the
/// context too.
#[workflow(context = Shop)]
pub enum Spread {
    #[start]
    #[map(Bonus, items = batch, next = Spread)]
    Split(u32),

    #[succeed]
    Spread(Vec<u32>),
}

#[workflow(context = Shop)]
pub enum Bonus {
    #[start]
    #[pass(add_bonus, next = Added)]
    Adding(u32),

    #[succeed]
    Added(u32),
}

/// `limit` items from `n` on.
fn batch(shop: &Shop, n: &u32) -> Vec<u32> {
    (*n..*n + shop.limit).collect()
}

const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

/// A shop that is open already (its `until` wait is over at once).
fn open_shop(limit: u32, bonus: u32, pause: Duration) -> Shop {
    Shop {
        limit,
        bonus,
        pause,
        opens: SystemTime::UNIX_EPOCH,
    }
}

#[tokio::test(start_paused = true)]
async fn inline_the_choice_and_the_pass_read_the_context() {
    let strict = open_shop(10, 100, Duration::ZERO);
    let lenient = open_shop(100, 100, Duration::ZERO);
    assert_eq!(Order::run(&strict, 50).await, Ok(150), "large: 50 + bonus");
    assert_eq!(Order::run(&lenient, 50).await, Ok(100), "small: doubled");
    let generous = open_shop(10, 7, Duration::ZERO);
    assert_eq!(Order::run(&generous, 50).await, Ok(57), "another bonus");
}

#[tokio::test(start_paused = true)]
async fn inline_the_map_items_read_the_context() {
    let shop = open_shop(3, 10, Duration::ZERO);
    assert_eq!(Spread::run(&shop, 1).await, Ok(vec![11, 12, 13]));
    let shop = open_shop(1, 5, Duration::ZERO);
    assert_eq!(Spread::run(&shop, 1).await, Ok(vec![6]));
}

#[tokio::test(start_paused = true)]
async fn inline_the_delay_reads_the_context() {
    for pause in [10 * MINUTE, 20 * MINUTE] {
        let shop = open_shop(10, 0, pause);
        let started = Instant::now();
        assert_eq!(Order::run(&shop, 1).await, Ok(2));
        assert_eq!(started.elapsed(), pause);
    }
}

#[tokio::test(start_paused = true)]
async fn inline_the_until_reads_the_context() {
    // The inline run's clock starts at the real time, a moment after this
    // one: the wait ends up to that moment short of two hours.
    let shop = Shop {
        opens: SystemTime::now() + 2 * HOUR,
        ..open_shop(10, 0, Duration::ZERO)
    };
    let started = Instant::now();
    assert_eq!(Order::run(&shop, 1).await, Ok(2));
    let waited = started.elapsed();
    assert!(
        waited <= 2 * HOUR && waited > 2 * HOUR - MINUTE,
        "waited {waited:?}"
    );
}

/// Runs `Order` on `input` on an engine over `store` with context `shop`,
/// the engine's clock being `clock`: the output and the time it took.
async fn on_engine(store: impl Store, clock: Clock, shop: Shop, input: u32) -> (u32, Duration) {
    let engine = Engine::builder(shop).store(store).clock(clock).build();
    engine.register::<Order>();
    let started = Instant::now();
    let output = engine
        .start::<Order>("order", input)
        .await
        .unwrap()
        .await
        .unwrap();
    (output, started.elapsed())
}

/// Two shops that differ in every setting the functions read, on fresh
/// stores from `store`: the outputs and waits each shop's settings give.
async fn two_shops<S: Store>(mut store: impl FnMut() -> S) {
    let clock = Clock::new();
    let strict = Shop {
        limit: 10,
        bonus: 100,
        pause: 10 * MINUTE,
        opens: clock.now() + 2 * HOUR,
    };
    assert_eq!(
        on_engine(store(), clock, strict, 50).await,
        (150, 2 * HOUR),
        "large with its bonus; the pause, then the wait for the opening"
    );
    let lenient = Shop {
        limit: 100,
        bonus: 100,
        pause: 30 * MINUTE,
        opens: SystemTime::UNIX_EPOCH,
    };
    assert_eq!(
        on_engine(store(), clock, lenient, 50).await,
        (100, 30 * MINUTE),
        "small, doubled; only the pause, the shop is open"
    );
}

#[tokio::test(start_paused = true)]
async fn on_an_engine_in_memory_every_function_reads_the_context() {
    two_shops(MemoryStore::new).await;
}

#[tokio::test(start_paused = true)]
async fn on_an_engine_on_sqlite_every_function_reads_the_context() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("workflows.db");
    let mut runs = 0;
    two_shops(|| {
        runs += 1;
        SqliteStore::open_inline(path.with_extension(runs.to_string())).unwrap()
    })
    .await;
}
