//! The example to run first: an order pipeline with a task that retries, a
//! catch, a choice, a wait, a map over the order's items and two parallel
//! branches. It runs three orders and prints what happened to each.
//!
//! ```text
//! cargo run --example checkout
//! ```

use std::sync::Mutex;

use workflow::prelude::*;

#[derive(Debug, Clone)]
pub struct Order {
    pub id: u32,
    pub items: Vec<String>,
    pub paid: bool,
}

#[derive(Debug, Clone)]
pub struct Reserved {
    pub order: Order,
}

#[derive(Debug, Clone)]
pub struct Parcel(pub String);

#[derive(Debug, Clone, thiserror::Error)]
pub enum ShopError {
    #[error("the warehouse is busy, try again")]
    Busy,
    #[error("`{0}` is out of stock")]
    OutOfStock(String),
}

/// Why an order was cancelled; built from what the catch hands over.
#[derive(Debug)]
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

/// The context every handler shares: a stock list and a flaky warehouse.
pub struct Shop {
    pub out_of_stock: Vec<String>,
    pub busy_answers: Mutex<u32>,
}

impl Shop {
    fn say(&self, line: String) {
        println!("    {line}");
    }
}

#[workflow(context = Shop)]
pub enum Checkout {
    #[start]
    #[task(reserve, next = Route, timeout = "5s")]
    #[retry(on = [ShopError::Busy], max_attempts = 4, interval = "100ms", backoff = 2.0)]
    #[catch(on = [ShopError::OutOfStock], next = Cancel)]
    Reserve(Order),

    #[choice(route, next = [Pack, AwaitPayment])]
    Route(Reserved),

    #[wait(duration = "300ms", next = Pack)]
    AwaitPayment(Reserved),

    #[map(PackItem, items = items_of, max_concurrency = 2, next = Notify)]
    Pack(Reserved),

    #[parallel(branches = [Invoice, Email], next = Done)]
    Notify(Vec<Parcel>),

    #[succeed]
    Done((String, String)),

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

fn route(reserved: Reserved) -> checkout::Route {
    if reserved.order.paid {
        checkout::Route::Pack(reserved)
    } else {
        println!(
            "    order {} is not paid yet: waiting for the payment",
            reserved.order.id
        );
        checkout::Route::AwaitPayment(reserved)
    }
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

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let shop = Shop {
        out_of_stock: vec!["umbrella".to_owned()],
        busy_answers: Mutex::new(2),
    };
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
    println!(
        "Checkout has {} states:",
        Checkout::definition().states.len()
    );
    for state in Checkout::definition().states.iter() {
        println!("  {:<14} {}", state.name, state.kind.type_name());
    }
    for order in orders {
        println!("\norder {}:", order.id);
        let started = tokio::time::Instant::now();
        match Checkout::run(&shop, order).await {
            Ok((invoice, email)) => println!("  -> done: {invoice}; {email}"),
            Err(error) => println!("  -> {error}"),
        }
        println!("  ({} ms)", started.elapsed().as_millis());
    }
}
