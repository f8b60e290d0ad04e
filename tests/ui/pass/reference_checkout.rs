//! The reference syntax (the full checkout workflow), complete with the types it uses.

#![deny(warnings)]

use workflow::prelude::*;

pub struct Shop;

#[derive(Debug, Clone)]
pub struct Cart {
    pub items: Vec<Item>,
}
#[derive(Debug, Clone)]
pub struct Item(pub u32);
#[derive(Debug, Clone)]
pub struct Reservation(pub Vec<Item>);
#[derive(Debug, Clone)]
pub struct Payment {
    pub paid_in_full: bool,
    pub items: Vec<Item>,
}
#[derive(Debug, Clone)]
pub struct Parcel(pub u32);
#[derive(Debug, Clone)]
pub struct InvoiceId(pub u64);
#[derive(Debug, Clone)]
pub struct EmailId(pub u64);
#[derive(Debug)]
pub struct CancelReason(pub String);

impl From<Caught<Cart, ShopError>> for CancelReason {
    fn from(caught: Caught<Cart, ShopError>) -> Self {
        CancelReason(caught.error.to_string())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ShopError {
    #[error("busy")]
    Busy,
    #[error("out of stock")]
    OutOfStock,
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

#[workflow(context = Shop)]
pub enum PackItem {
    #[start]
    #[task(pack, next = Packed)]
    Packing(Item),
    #[succeed]
    Packed(Parcel),
}

#[workflow(context = Shop)]
pub enum Invoice {
    #[start]
    #[task(invoice, next = Invoiced)]
    Invoicing(Vec<Parcel>),
    #[succeed]
    Invoiced(InvoiceId),
}

#[workflow(context = Shop)]
pub enum EmailCustomer {
    #[start]
    #[task(email, next = Sent)]
    Sending(Vec<Parcel>),
    #[succeed]
    Sent(EmailId),
}

async fn reserve_stock(_cx: Ctx<'_, Shop>, cart: Cart) -> Result<Reservation, ShopError> {
    Ok(Reservation(cart.items))
}

async fn charge_card(_cx: Ctx<'_, Shop>, r: Reservation) -> Result<Payment, ShopError> {
    Ok(Payment {
        paid_in_full: true,
        items: r.0,
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

async fn pack(_cx: Ctx<'_, Shop>, item: Item) -> Result<Parcel, ShopError> {
    Ok(Parcel(item.0))
}

async fn invoice(_cx: Ctx<'_, Shop>, parcels: Vec<Parcel>) -> Result<InvoiceId, ShopError> {
    Ok(InvoiceId(parcels.len() as u64))
}

async fn email(_cx: Ctx<'_, Shop>, parcels: Vec<Parcel>) -> Result<EmailId, ShopError> {
    Ok(EmailId(parcels.len() as u64))
}

fn main() {
    // The generated trait impl is usable: the types line up.
    fn assert_workflow<W: Workflow<Input = Cart, Output = (InvoiceId, EmailId), Context = Shop>>() {}
    assert_workflow::<Checkout>();
    let _ = Checkout::definition();
}
