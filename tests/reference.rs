//! The reference workflow, written exactly in the reference syntax,
//! run inline on tokio's paused clock.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use workflow::core::{EdgeKind, Kind, Transition};
use workflow::prelude::*;

#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub sku: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cart {
    pub items: Vec<Item>,
    pub paid_in_full: bool,
    /// How many times the warehouse answers Busy before it answers.
    pub busy: u32,
    pub in_stock: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub items: Vec<Item>,
    pub paid_in_full: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    pub items: Vec<Item>,
    pub paid_in_full: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Parcel(pub u32);

#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceId(pub String);

#[derive(Debug, Clone, PartialEq)]
pub struct EmailId(pub String);

#[derive(Debug, Clone, PartialEq)]
pub struct CancelReason {
    pub items: usize,
    pub why: String,
}

impl From<Caught<Cart, ShopError>> for CancelReason {
    fn from(caught: Caught<Cart, ShopError>) -> Self {
        CancelReason {
            items: caught.input.items.len(),
            why: caught.error.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShopError {
    #[error("the warehouse is busy")]
    Busy,
    #[error("sku {0} is out of stock")]
    OutOfStock(u32),
    #[error("the card was declined")]
    Declined,
}

/// The shop: what the handlers did, for the test to check.
#[derive(Default)]
pub struct Shop {
    log: Mutex<Vec<String>>,
    reserve_attempts: Mutex<Vec<Instant>>,
}

impl Shop {
    fn record(&self, line: impl Into<String>) {
        self.log.lock().unwrap().push(line.into());
    }
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

#[workflow(context = Shop)]
pub enum Checkout {
    #[start]
    #[task(reserve_stock, next = Charge, timeout = "10s")]
    #[retry(on = [ShopError::Busy], max_attempts = 5, interval = "200ms", backoff = 2.0, max_delay = "5s", jitter = full)]
    #[catch(on = [ShopError::OutOfStock], next = Cancelled)]
    Reserve(Cart),

    #[task(charge_card, next = Route, timeout = "30s")]
    #[retry(on = [timeout, task_failed], max_attempts = 3)]
    Charge(Reservation),

    #[choice(route, next = [Pack, Hold])]
    Route(Payment),

    #[wait(seconds = 3600, next = Pack)]
    Hold(Payment),

    #[map(PackItem, items = items_of, max_concurrency = 8, next = Notify)]
    Pack(Payment),

    #[parallel(branches = [Invoice, EmailCustomer], next = Done)]
    Notify(Vec<Parcel>),

    #[succeed]
    Done((InvoiceId, EmailId)),

    #[fail(error = "OrderCancelled")]
    Cancelled(CancelReason),
}

async fn reserve_stock(cx: Ctx<'_, Shop>, cart: Cart) -> Result<Reservation, ShopError> {
    cx.reserve_attempts.lock().unwrap().push(Instant::now());
    if cx.attempt() <= cart.busy {
        return Err(ShopError::Busy);
    }
    if !cart.in_stock {
        return Err(ShopError::OutOfStock(cart.items[0].sku));
    }
    cx.record(format!("reserved {} items", cart.items.len()));
    Ok(Reservation {
        items: cart.items,
        paid_in_full: cart.paid_in_full,
    })
}

async fn charge_card(cx: Ctx<'_, Shop>, reservation: Reservation) -> Result<Payment, ShopError> {
    cx.record(format!("charged, key {}", cx.idempotency_key()));
    Ok(Payment {
        items: reservation.items,
        paid_in_full: reservation.paid_in_full,
    })
}

fn route(payment: Payment) -> checkout::Route {
    if payment.paid_in_full {
        checkout::Route::Pack(payment)
    } else {
        checkout::Route::Hold(payment)
    }
}

fn items_of(payment: &Payment) -> Vec<Item> {
    payment.items.clone()
}

#[workflow(context = Shop)]
pub enum PackItem {
    #[start]
    #[task(pack, next = Packed)]
    Packing(Item),

    #[succeed]
    Packed(Parcel),
}

async fn pack(cx: Ctx<'_, Shop>, item: Item) -> Result<Parcel, ShopError> {
    cx.record(format!("packed {}", item.sku));
    Ok(Parcel(item.sku))
}

#[workflow(context = Shop)]
pub enum Invoice {
    #[start]
    #[task(write_invoice, next = Invoiced)]
    Billing(Vec<Parcel>),

    #[succeed]
    Invoiced(InvoiceId),
}

async fn write_invoice(_cx: Ctx<'_, Shop>, parcels: Vec<Parcel>) -> Result<InvoiceId, ShopError> {
    Ok(InvoiceId(format!("inv-{}", parcels.len())))
}

#[workflow(context = Shop)]
pub enum EmailCustomer {
    #[start]
    #[task(send_email, next = Sent)]
    Sending(Vec<Parcel>),

    #[succeed]
    Sent(EmailId),
}

async fn send_email(_cx: Ctx<'_, Shop>, parcels: Vec<Parcel>) -> Result<EmailId, ShopError> {
    let skus: Vec<String> = parcels.iter().map(|p| p.0.to_string()).collect();
    Ok(EmailId(format!("mail-{}", skus.join("-"))))
}

fn cart(paid_in_full: bool) -> Cart {
    Cart {
        items: vec![Item { sku: 1 }, Item { sku: 2 }, Item { sku: 3 }],
        paid_in_full,
        busy: 0,
        in_stock: true,
    }
}

#[tokio::test(start_paused = true)]
async fn paid_order_runs_every_state_to_done() {
    let shop = Shop::default();
    let started = Instant::now();
    let output = Checkout::run(&shop, cart(true)).await.unwrap();
    assert_eq!(
        output,
        (InvoiceId("inv-3".into()), EmailId("mail-1-2-3".into()))
    );
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "no state of this path waits"
    );
    let log = shop.log();
    assert_eq!(log[0], "reserved 3 items");
    assert!(log[1].starts_with("charged, key "));
    assert!(log[1].ends_with("/Charge/1"), "{}", log[1]);
    let mut packed = log[2..].to_vec();
    packed.sort();
    assert_eq!(packed, ["packed 1", "packed 2", "packed 3"]);
}

#[tokio::test(start_paused = true)]
async fn unpaid_order_holds_for_exactly_an_hour() {
    let shop = Shop::default();
    let started = Instant::now();
    let output = Checkout::run(&shop, cart(false)).await.unwrap();
    assert_eq!(output.0, InvoiceId("inv-3".into()));
    assert_eq!(started.elapsed(), Duration::from_secs(3600));
}

#[tokio::test(start_paused = true)]
async fn out_of_stock_is_caught_and_fails_as_cancelled() {
    let shop = Shop::default();
    let mut order = cart(true);
    order.in_stock = false;
    let error = Checkout::run(&shop, order).await.unwrap_err();
    let failure = error.failure().expect("a failure in a state");
    assert_eq!(failure.state, "Cancelled");
    assert_eq!(failure.error, "OrderCancelled");
    let reason = CancelReason {
        items: 3,
        why: "sku 1 is out of stock".into(),
    };
    assert_eq!(failure.cause, format!("{reason:?}"));
    assert_eq!(
        shop.reserve_attempts.lock().unwrap().len(),
        1,
        "OutOfStock is not retried"
    );
}

#[tokio::test(start_paused = true)]
async fn busy_warehouse_is_retried_with_full_jitter_within_bounds() {
    let shop = Shop::default();
    let mut order = cart(true);
    order.busy = 4;
    let output = Runner::new()
        .seed(7)
        .run::<Checkout>(&shop, order)
        .await
        .unwrap();
    assert_eq!(output.1, EmailId("mail-1-2-3".into()));
    let attempts = shop.reserve_attempts.lock().unwrap().clone();
    assert_eq!(attempts.len(), 5);
    // Full jitter: each delay is drawn from [0, 200ms * 2^(n-1)].
    for (n, pair) in attempts.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let cap = Duration::from_millis(200) * 2u32.pow(n as u32);
        assert!(
            gap <= cap,
            "retry {} waited {gap:?}, more than {cap:?}",
            n + 1
        );
    }
}

#[tokio::test(start_paused = true)]
async fn busy_past_max_attempts_fails_with_the_handlers_error() {
    let shop = Shop::default();
    let mut order = cart(true);
    order.busy = 6;
    let error = Checkout::run(&shop, order).await.unwrap_err();
    let failure = error.failure().unwrap();
    assert_eq!(failure.state, "Reserve");
    assert_eq!(failure.error, "ShopError.Busy");
    assert_eq!(failure.cause, "the warehouse is busy");
    assert_eq!(
        shop.reserve_attempts.lock().unwrap().len(),
        6,
        "1 attempt + 5 retries"
    );
}

#[test]
fn definition_lists_every_state_kind_and_edge_of_the_source() {
    let def = Checkout::definition();
    assert_eq!(def.name, "Checkout");
    assert_eq!(def.start, "Reserve");
    let states: Vec<(&str, &str, &str)> = def
        .states
        .iter()
        .map(|s| (&*s.name, s.kind.type_name(), &*s.data))
        .collect();
    assert_eq!(
        states,
        [
            ("Reserve", "Task", "Cart"),
            ("Charge", "Task", "Reservation"),
            ("Route", "Choice", "Payment"),
            ("Hold", "Wait", "Payment"),
            ("Pack", "Map", "Payment"),
            ("Notify", "Parallel", "Vec<Parcel>"),
            ("Done", "Succeed", "(InvoiceId, EmailId)"),
            ("Cancelled", "Fail", "CancelReason"),
        ]
    );
    let edges: Vec<(&str, &str, EdgeKind)> =
        def.edges().iter().map(|e| (e.from, e.to, e.kind)).collect();
    assert_eq!(
        edges,
        [
            ("Reserve", "Charge", EdgeKind::Next),
            ("Reserve", "Cancelled", EdgeKind::Catch(0)),
            ("Charge", "Route", EdgeKind::Next),
            ("Route", "Pack", EdgeKind::Choice(0)),
            ("Route", "Hold", EdgeKind::Choice(1)),
            ("Hold", "Pack", EdgeKind::Next),
            ("Pack", "Notify", EdgeKind::Next),
            ("Notify", "Done", EdgeKind::Next),
        ]
    );
    let reserve = &def.states[0];
    let Kind::Task {
        handler,
        next,
        timeout,
        heartbeat,
    } = &reserve.kind
    else {
        panic!("Reserve is a task");
    };
    assert_eq!(handler, "reserve_stock");
    assert_eq!(*next, Transition::Next("Charge".into()));
    assert_eq!(*timeout, Some(Duration::from_secs(10)));
    assert_eq!(*heartbeat, None);
    let retry = &reserve.retry[0];
    assert_eq!(retry.on[0].asl_name(), "ShopError.Busy");
    assert_eq!(retry.max_attempts, 5);
    assert_eq!(retry.interval, Duration::from_millis(200));
    assert_eq!(retry.backoff, 2.0);
    assert_eq!(retry.max_delay, Some(Duration::from_secs(5)));
    assert_eq!(retry.jitter, workflow::core::Jitter::Full);
    assert_eq!(reserve.catch[0].on[0].asl_name(), "ShopError.OutOfStock");
    let charge_retry = &def.states[1].retry[0];
    let names: Vec<&str> = charge_retry.on.iter().map(|m| m.asl_name()).collect();
    assert_eq!(names, ["States.Timeout", "States.TaskFailed"]);
    assert_eq!(charge_retry.max_attempts, 3, "the default");
    assert_eq!(charge_retry.interval, Duration::from_secs(1), "the default");
    let Kind::Map {
        workflow,
        items,
        max_concurrency,
        ..
    } = &def.states[4].kind
    else {
        panic!("Pack is a map");
    };
    assert_eq!(
        (&**workflow, &**items, *max_concurrency),
        ("PackItem", "items_of", 8)
    );
    let Kind::Parallel { branches, .. } = &def.states[5].kind else {
        panic!("Notify is a parallel");
    };
    assert_eq!(branches.to_vec(), ["Invoice", "EmailCustomer"]);
    assert!(workflow::core::check(def).is_empty());
}

#[test]
fn declined_card_variant_is_still_used() {
    // Keeps the error enum honest: every variant is constructible.
    assert_eq!(ShopError::Declined.to_string(), "the card was declined");
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;
validate_exports!(Checkout, PackItem, Invoice, EmailCustomer);
