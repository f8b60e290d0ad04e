//! Many workers on one PostgreSQL database, in one command: two workers
//! and a client share a schema, as separate processes on separate machines
//! would (each has its own store, connections and lease owner). The client
//! starts twenty shipments and approves them as they ask; the workers run
//! them; halfway, one worker shuts down and the other takes its executions
//! over at their last checkpoint.
//!
//! ```text
//! cargo run --example workers --features postgres -- postgres://user@host/db
//! ```
//!
//! It works in a schema of its own (`workflow_example_workers`), dropped
//! and made again at each run, so it leaves the rest of the database alone.

use std::error::Error;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use workflow::EngineBuilder;
use workflow::postgres::PostgresStore;
use workflow::prelude::*;

const SCHEMA: &str = "workflow_example_workers";

/// What every process's handlers share: here, which worker ran each step
/// (printed at the end), and the approval tokens waiting for the client.
pub struct Depot {
    name: &'static str,
    steps: AtomicUsize,
    tokens: &'static Mutex<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shipment {
    pub id: u32,
    pub kilos: u32,
}

#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
pub enum DepotError {
    #[error("the scale is busy")]
    Busy,
}

async fn weigh(cx: Ctx<'_, Depot>, shipment: Shipment) -> Result<Shipment, DepotError> {
    cx.steps.fetch_add(1, Ordering::Relaxed);
    // Every fifth shipment's scale is busy at first: retried after 100 ms.
    if shipment.id.is_multiple_of(5) && cx.attempt() == 1 {
        return Err(DepotError::Busy);
    }
    Ok(shipment)
}

async fn approve(cx: Ctx<'_, Depot>, shipment: Shipment) -> Result<Shipment, DepotError> {
    cx.steps.fetch_add(1, Ordering::Relaxed);
    // Hand the token to whoever approves (here, the client), and wait: the
    // shipment leaves memory until the answer, which may come from any
    // process, and the step then runs again with it.
    if !cx.callback_answered().await.unwrap_or(false) {
        cx.tokens.lock().unwrap().push(cx.callback_token());
    }
    let approved: bool = cx.callback().await.unwrap_or(false);
    if !approved {
        return Err(DepotError::Busy);
    }
    Ok(shipment)
}

async fn load(cx: Ctx<'_, Depot>, shipment: Shipment) -> Result<String, DepotError> {
    cx.steps.fetch_add(1, Ordering::Relaxed);
    Ok(format!(
        "shipment {} ({} kg) loaded by {}",
        shipment.id, shipment.kilos, cx.name
    ))
}

#[workflow(context = Depot)]
#[derive(Serialize, Deserialize)]
pub enum Dispatch {
    #[start]
    #[task(weigh, next = Approve)]
    #[retry(on = [DepotError::Busy], max_attempts = 3, interval = "100ms")]
    Weigh(Shipment),

    #[task(approve, next = Cool)]
    Approve(Shipment),

    #[wait(duration = "500ms", next = Load)]
    Cool(Shipment),

    #[task(load, next = Loaded)]
    Load(Shipment),

    #[succeed]
    Loaded(String),
}

/// One process's engine: its own store (connections, listener) on the
/// shared schema.
async fn engine(
    url: &str,
    name: &'static str,
    tokens: &'static Mutex<Vec<String>>,
) -> Result<EngineBuilder<Depot>, Box<dyn Error>> {
    let store = PostgresStore::builder(url).schema(SCHEMA).connect().await?;
    let depot = Depot {
        name,
        steps: AtomicUsize::new(0),
        tokens,
    };
    Ok(Engine::builder(depot)
        .store(store)
        // Short, for the example; the default is 30 s.
        .lease(Duration::from_secs(5))
        .poll_interval(Duration::from_millis(200)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: cargo run --example workers --features postgres -- postgres://…")?;
    reset_schema(&url).await?;
    let tokens: &'static Mutex<Vec<String>> = Box::leak(Box::default());

    // Two workers: each claims what is due, on a lease it renews.
    let mut workers = Vec::new();
    for name in ["worker-a", "worker-b"] {
        let worker = engine(&url, name, tokens).await?.build();
        worker.register::<Dispatch>();
        worker.recover().await?; // resumes what is open, and starts claiming
        workers.push(worker);
    }
    // A client: starts and answers, runs nothing.
    let client = engine(&url, "client", tokens).await?.client_only().build();
    client.register::<Dispatch>();

    let mut handles = Vec::new();
    for id in 0..20 {
        let shipment = Shipment { id, kilos: 10 + id };
        handles.push(
            client
                .start::<Dispatch>(format!("shipment-{id}"), shipment)
                .await?,
        );
    }

    // Approve as the tokens come in (a token comes again if its step runs
    // again after a takeover: the same answer again is no error); halfway,
    // worker-a leaves.
    let mut approved = std::collections::HashSet::new();
    while approved.len() < handles.len() {
        let waiting: Vec<String> = std::mem::take(&mut *tokens.lock().unwrap());
        for token in waiting {
            client.complete_task(&token, true).await?;
            approved.insert(token);
        }
        if approved.len() >= handles.len() / 2 && !workers[0].is_stopped() {
            let report = workers[0].shutdown(Duration::from_secs(2)).await?;
            println!(
                "worker-a shut down (steps cut short: {}); worker-b takes over",
                report.cut_short
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    for handle in handles {
        let id = handle.id().to_owned();
        let name = client.describe(&id).await?.map(|d| d.name).unwrap_or(id);
        println!("{name}: {}", handle.await?);
    }
    for worker in &workers {
        println!(
            "{} ran {} steps",
            worker.context().name,
            worker.context().steps.load(Ordering::Relaxed)
        );
    }
    Ok(())
}

/// Drops the example's schema, so each run starts empty.
async fn reset_schema(url: &str) -> Result<(), Box<dyn Error>> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        .await?;
    Ok(())
}
