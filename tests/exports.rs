//! Mermaid, DOT and Amazon States Language exports of a workflow that uses
//! every state kind and option, as snapshots.

use std::time::{Duration, SystemTime};

use workflow::prelude::*;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShopError {
    #[error("busy")]
    Busy,
    #[error("out of stock")]
    OutOfStock,
}

#[derive(Debug, Clone)]
pub struct Cart(pub u32);

pub struct Shop;

#[workflow(context = Shop, timeout = "1h")]
pub enum Checkout {
    #[start]
    #[task(reserve, next = Route, timeout = "10s", heartbeat = "2s")]
    #[retry(on = [ShopError::Busy], max_attempts = 5, interval = "200ms", backoff = 2.0, max_delay = "5s", jitter = full)]
    #[retry(on = [timeout], max_attempts = 2)]
    #[catch(on = [ShopError::OutOfStock], next = Cancelled)]
    #[catch(on = [any], next = Broken)]
    Reserve(Cart),

    #[choice(route, next = [Pack, Hold, Later])]
    Route(Cart),

    #[wait(seconds = 3600, next = Pack)]
    Hold(Cart),

    #[wait(until = tomorrow, next = Delay)]
    Later(Cart),

    #[wait(delay = a_while, next = Pack)]
    Delay(Cart),

    #[map(PackItem, items = items_of, max_concurrency = 4, next = Notify)]
    #[retry(on = [any], max_attempts = 1)]
    Pack(Cart),

    #[parallel(branches = [Invoice, Email], next = Summarize)]
    #[catch(on = [task_failed], next = Unnotified)]
    Notify(Vec<u32>),

    #[pass(summarize, next = Done)]
    Summarize((u32, u32)),

    #[succeed]
    Done(u32),

    #[fail(error = "OrderCancelled")]
    Cancelled(Caught<Cart, ShopError>),

    #[fail(error = "Broken", cause = "something unexpected")]
    Broken(Caught<Cart, ShopError>),

    #[fail(error = "Unnotified")]
    Unnotified(Caught<Vec<u32>, ExecutionError>),
}

async fn reserve(_cx: Ctx<'_, Shop>, cart: Cart) -> Result<Cart, ShopError> {
    Ok(cart)
}

fn route(cart: Cart) -> checkout::Route {
    checkout::Route::Pack(cart)
}

fn tomorrow(_: &Cart) -> SystemTime {
    SystemTime::now()
}

fn a_while(_: &Cart) -> Duration {
    Duration::from_secs(1)
}

fn items_of(cart: &Cart) -> Vec<u32> {
    (0..cart.0).collect()
}

fn summarize((a, b): (u32, u32)) -> u32 {
    a + b
}

#[workflow(context = Shop, output = u32)]
pub enum PackItem {
    #[start]
    #[task(pack, end)]
    Packing(u32),
}

#[workflow(context = Shop)]
pub enum Invoice {
    #[start]
    #[task(invoice, next = Invoiced)]
    Write(Vec<u32>),
    #[succeed]
    Invoiced(u32),
}

#[workflow(context = Shop)]
pub enum Email {
    #[start]
    #[task(invoice, next = Sent)]
    Send(Vec<u32>),
    #[succeed]
    Sent(u32),
}

async fn pack(_cx: Ctx<'_, Shop>, n: u32) -> Result<u32, ShopError> {
    Ok(n)
}

async fn invoice(_cx: Ctx<'_, Shop>, items: Vec<u32>) -> Result<u32, ShopError> {
    Ok(items.len() as u32)
}

/// The same branch workflow twice in one Parallel state.
#[workflow(context = Shop)]
pub enum Twice {
    #[start]
    #[parallel(branches = [Email, Email], next = Both)]
    Notify(Vec<u32>),
    #[succeed]
    Both((u32, u32)),
}

#[test]
fn a_branch_workflow_run_twice_gets_one_name_per_branch() {
    let asl = serde_json::to_value(Twice::definition().to_asl(&Twice::children())).unwrap();
    let branches = &asl["States"]["Notify"]["Branches"];
    assert_eq!(branches[0]["StartAt"], "Notify.Email#0.Send");
    assert_eq!(branches[1]["StartAt"], "Notify.Email#1.Send");
}

#[test]
fn mermaid() {
    insta::assert_snapshot!(Checkout::definition().to_mermaid());
}

#[test]
fn dot() {
    insta::assert_snapshot!(Checkout::definition().to_dot());
}

#[test]
fn asl() {
    let asl = Checkout::definition().to_asl(&Checkout::children());
    insta::assert_snapshot!(serde_json::to_string_pretty(&asl).unwrap());
}

#[test]
fn children_are_found_in_state_order_each_once() {
    let names: Vec<_> = Checkout::children().iter().map(|d| &*d.name).collect();
    assert_eq!(names, ["PackItem", "Invoice", "Email"]);
    assert!(PackItem::children().is_empty());
}

#[test]
fn asl_without_children_stands_in_for_them() {
    let asl = Checkout::definition().to_asl(&[]);
    let json = serde_json::to_value(&asl).unwrap();
    let branch = &json["States"]["Notify"]["Branches"][0];
    assert_eq!(branch["StartAt"], "Notify.Invoice.Invoice");
    assert_eq!(branch["States"]["Notify.Invoice.Invoice"]["Type"], "Pass");
}

#[test]
fn nested_state_names_are_unique_across_the_machine() {
    // Invoice and Email both end in a state of their own; PackItem's one
    // state sits under the Map state that runs it.
    let asl = serde_json::to_value(Checkout::definition().to_asl(&Checkout::children())).unwrap();
    let notify = &asl["States"]["Notify"]["Branches"];
    assert_eq!(
        notify[0]["States"]["Notify.Invoice.Write"]["Next"],
        "Notify.Invoice.Invoiced"
    );
    assert_eq!(notify[1]["StartAt"], "Notify.Email.Send");
    let pack = &asl["States"]["Pack"]["ItemProcessor"];
    assert_eq!(pack["StartAt"], "Pack.PackItem.Packing");
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;
validate_exports!(Checkout, PackItem, Invoice, Email, Twice);
