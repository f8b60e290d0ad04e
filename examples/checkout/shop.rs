//! The checkout workflow of the example: an order pipeline that uses
//! every state kind, its handlers, and the story `demo` tells with it.
//! The `workflow` command's tests run the same story, then the README's
//! commands on the file it leaves.

use std::error::Error;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::store::SqliteStore;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    pub id: u32,
    pub items: Vec<String>,
    pub paid: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reserved {
    pub order: Order,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Parcel(pub String);

#[derive(Debug, Clone, thiserror::Error)]
pub enum ShopError {
    #[error("the warehouse is busy, try again")]
    Busy,
    #[error("`{0}` is out of stock")]
    OutOfStock(String),
}

/// Why an order was cancelled; built from what the catch hands over.
#[derive(Debug, Serialize, Deserialize)]
pub struct Cancelled {
    pub order: u32,
    pub reason: String,
}

impl From<Caught<Order, ShopError>> for Cancelled {
    fn from(caught: Caught<Order, ShopError>) -> Self {
        Cancelled {
            order: caught.input.id,
            reason: caught.error.to_string(),
        }
    }
}

/// The context every handler shares: a stock list, a flaky warehouse and
/// the shop's settings (which the choice and the wait read, so they need
/// not travel in every order).
pub struct Shop {
    pub out_of_stock: Vec<String>,
    pub busy_answers: Mutex<u32>,
    /// How long an unpaid order waits for its payment.
    pub payment_grace: Duration,
}

impl Shop {
    fn say(&self, line: String) {
        println!("    {line}");
    }
}

#[workflow(context = Shop)]
#[derive(Serialize, Deserialize)]
pub enum Checkout {
    #[start]
    #[task(reserve, next = Route, timeout = "5s")]
    #[retry(on = [ShopError::Busy], max_attempts = 4, interval = "100ms", backoff = 2.0)]
    #[catch(on = [ShopError::OutOfStock], next = Cancel)]
    Reserve(Order),

    #[choice(route, next = [Pack, AwaitPayment])]
    Route(Reserved),

    #[wait(delay = payment_grace, next = Pack)]
    AwaitPayment(Reserved),

    #[map(PackItem, items = items_of, max_concurrency = 2, next = Notify)]
    Pack(Reserved),

    #[parallel(branches = [Invoice, Email], next = Summarize)]
    Notify(Vec<Parcel>),

    #[pass(summarize, next = Done)]
    Summarize((String, String)),

    #[succeed]
    Done(String),

    #[fail(error = "OrderCancelled")]
    Cancel(Cancelled),
}

async fn reserve(cx: Ctx<'_, Shop>, order: Order) -> Result<Reserved, ShopError> {
    let mut busy = cx
        .busy_answers
        .lock()
        .expect("no handler panics holding it");
    if *busy > 0 {
        *busy -= 1;
        cx.say(format!(
            "reserve order {}: attempt {} -> warehouse busy",
            order.id,
            cx.attempt()
        ));
        return Err(ShopError::Busy);
    }
    drop(busy);
    if let Some(item) = order.items.iter().find(|i| cx.out_of_stock.contains(i)) {
        cx.say(format!(
            "reserve order {}: `{item}` is out of stock",
            order.id
        ));
        return Err(ShopError::OutOfStock(item.clone()));
    }
    cx.say(format!(
        "reserve order {}: attempt {} -> reserved",
        order.id,
        cx.attempt()
    ));
    Ok(Reserved { order })
}

// A choice, pass or wait function may take the context first.
fn route(shop: &Shop, reserved: Reserved) -> checkout::Route {
    if reserved.order.paid {
        checkout::Route::Pack(reserved)
    } else {
        shop.say(format!(
            "order {} is not paid yet: waiting {:?} for the payment",
            reserved.order.id, shop.payment_grace
        ));
        checkout::Route::AwaitPayment(reserved)
    }
}

fn payment_grace(shop: &Shop, _reserved: &Reserved) -> Duration {
    shop.payment_grace
}

fn summarize((invoice, email): (String, String)) -> String {
    format!("{invoice}; {email}")
}

fn items_of(reserved: &Reserved) -> Vec<String> {
    reserved.order.items.clone()
}

/// Packs one item; the map state runs it for every item of the order.
#[workflow(context = Shop)]
pub enum PackItem {
    #[start]
    #[task(pack, next = Packed)]
    Packing(String),

    #[succeed]
    Packed(Parcel),
}

async fn pack(cx: Ctx<'_, Shop>, item: String) -> Result<Parcel, ShopError> {
    cx.say(format!("pack `{item}`"));
    Ok(Parcel(format!("box of {item}")))
}

/// One of the two branches that run in parallel once the order is packed.
#[workflow(context = Shop)]
pub enum Invoice {
    #[start]
    #[task(invoice, next = Invoiced)]
    Write(Vec<Parcel>),

    #[succeed]
    Invoiced(String),
}

async fn invoice(cx: Ctx<'_, Shop>, parcels: Vec<Parcel>) -> Result<String, ShopError> {
    cx.say(format!("invoice {} parcels", parcels.len()));
    Ok(format!("invoice for {} parcels", parcels.len()))
}

/// The other parallel branch.
#[workflow(context = Shop)]
pub enum Email {
    #[start]
    #[task(email, next = Sent)]
    Send(Vec<Parcel>),

    #[succeed]
    Sent(String),
}

async fn email(cx: Ctx<'_, Shop>, parcels: Vec<Parcel>) -> Result<String, ShopError> {
    let names: Vec<&str> = parcels.iter().map(|p| p.0.as_str()).collect();
    cx.say(format!("email the customer about {}", names.join(", ")));
    Ok("email sent".to_owned())
}

fn shop() -> Shop {
    Shop {
        out_of_stock: vec!["umbrella".to_owned()],
        busy_answers: Mutex::new(2),
        payment_grace: Duration::from_millis(300),
    }
}

/// An engine over the SQLite file, with the workflow registered.
fn engine(path: &Path) -> Result<Engine<Shop>, Box<dyn Error>> {
    let engine = Engine::builder(shop())
        .store(SqliteStore::open(path)?)
        .build();
    engine.register::<Checkout>();
    Ok(engine)
}

/// The story the example tells, written to the SQLite file at `path`
/// (which must not exist yet): a first engine starts three orders and
/// dies while order 2 waits for its payment; a second engine opens the
/// file, recovers, and finishes them. Prints what happens and each order's
/// history. The file stays, for the `workflow` command to read.
pub async fn demo(path: &Path) -> Result<(), Box<dyn Error>> {
    println!(
        "Checkout has {} states:",
        Checkout::definition().states.len()
    );
    for state in Checkout::definition().states.iter() {
        println!("  {:<14} {}", state.name, state.kind.type_name());
    }

    let orders = [
        Order {
            id: 1,
            items: vec!["kettle".into(), "mug".into(), "tea".into()],
            paid: true,
        },
        Order {
            id: 2,
            items: vec!["lamp".into()],
            paid: false,
        },
        Order {
            id: 3,
            items: vec!["umbrella".into(), "boots".into()],
            paid: true,
        },
    ];
    println!("\nthe first process starts three orders; what the handlers say:");
    let first = engine(path)?;
    let mut ids = Vec::new();
    for order in orders {
        let name = format!("order-{}", order.id);
        ids.push(first.start::<Checkout>(name, order).await?.id().to_owned());
    }
    // Order 2 is not paid: it waits 300 ms. Let the process die in the middle.
    tokio::time::sleep(Duration::from_millis(150)).await;
    first.halt();
    println!("\n-- the first process dies; order 2 was waiting for its payment --");
    for id in &ids {
        if let Some(execution) = first.describe(id).await? {
            println!(
                "  {:<8} {:<10} in {}",
                execution.name,
                execution.status.name(),
                execution.state
            );
        }
    }

    println!("\nthe second process opens the same file and recovers:");
    let second = engine(path)?;
    let recovery = second.recover().await?;
    println!("  resumed {} execution(s)", recovery.resumed.len());
    for id in &ids {
        let outcome = second.handle::<Checkout>(id.clone()).await;
        let Some(execution) = second.describe(id).await? else {
            continue;
        };
        println!("\n{} ({:?}):", execution.name, execution.status);
        match outcome {
            Ok(summary) => println!("  output: {summary}"),
            Err(error) => println!("  {error}"),
        }
        print!("{}", workflow::timeline(&second.history(id).await?));
    }
    second.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}
