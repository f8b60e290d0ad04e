//! Execution overlays: an execution's path, read from its history, drawn
//! over its workflow's diagram. A succeeded, a caught, a failed and an
//! unfinished execution of one workflow come out differently.

use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::{Overlay, Visit};

#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum ShipError {
    #[error("the courier is busy")]
    Busy,
    #[error("out of stock")]
    OutOfStock,
    #[error("the address is unknown")]
    NoAddress,
}

/// Order numbers choose the path: 1 ships express after one busy retry,
/// 2 ships standard, 3 is out of stock (caught), 4 has no address (not
/// caught), 5 waits to be shipped.
#[workflow]
#[derive(Serialize, Deserialize)]
pub enum Ship {
    #[start]
    #[task(pick, next = Route)]
    #[retry(on = [ShipError::Busy], max_attempts = 2, interval = "1s")]
    #[catch(on = [ShipError::OutOfStock], next = Backorder)]
    Pick(u32),

    #[choice(route, next = [Express, Standard, Later])]
    Route(u32),

    #[task(send, next = Shipped)]
    Express(u32),

    #[task(send, next = Shipped)]
    Standard(u32),

    #[wait(seconds = 86400, next = Standard)]
    Later(u32),

    #[succeed]
    Shipped(u32),

    #[fail(error = "Backordered")]
    Backorder(Caught<u32, ShipError>),
}

static BUSY_ONCE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

async fn pick(_cx: Ctx<'_, ()>, order: u32) -> Result<u32, ShipError> {
    match order {
        1 if BUSY_ONCE.swap(false, std::sync::atomic::Ordering::SeqCst) => Err(ShipError::Busy),
        3 => Err(ShipError::OutOfStock),
        4 => Err(ShipError::NoAddress),
        _ => Ok(order),
    }
}

fn route(order: u32) -> ship::Route {
    match order {
        1 => ship::Route::Express(order),
        5 => ship::Route::Later(order),
        _ => ship::Route::Standard(order),
    }
}

async fn send(_cx: Ctx<'_, ()>, order: u32) -> Result<u32, ShipError> {
    Ok(order)
}

/// The overlay of order `n`'s execution, run to its end or, for order 5,
/// to its wait.
async fn overlay_of(n: u32) -> Overlay {
    let engine = Engine::builder(()).build();
    engine.register::<Ship>();
    let handle = engine.start::<Ship>(format!("order-{n}"), n).await.unwrap();
    let id = handle.id().to_owned();
    if n == 5 {
        // Parked in its day-long wait: one hour on is still mid-wait.
        tokio::time::advance(std::time::Duration::from_secs(3600)).await;
        assert_eq!(
            handle.describe().await.unwrap().unwrap().status,
            Status::Running
        );
    } else {
        let _ = handle.outcome().await;
    }
    workflow::overlay(&engine.history(&id).await.unwrap())
}

fn visits(overlay: &Overlay) -> Vec<(String, Visit)> {
    overlay.iter().map(|(s, v)| (s.to_owned(), v)).collect()
}

#[tokio::test(start_paused = true)]
async fn succeeded_execution_marks_its_path_and_leaves_the_rest() {
    let overlay = overlay_of(1).await;
    assert_eq!(
        visits(&overlay),
        [
            ("Pick".into(), Visit::Succeeded),
            ("Route".into(), Visit::Succeeded),
            ("Express".into(), Visit::Succeeded),
            ("Shipped".into(), Visit::Succeeded),
        ]
    );
    insta::assert_snapshot!(Ship::definition().to_mermaid_overlay(&overlay));
}

#[tokio::test(start_paused = true)]
async fn caught_execution_marks_the_catching_state_caught() {
    let overlay = overlay_of(3).await;
    assert_eq!(
        visits(&overlay),
        [
            ("Pick".into(), Visit::Caught),
            ("Backorder".into(), Visit::Failed),
        ]
    );
    insta::assert_snapshot!(Ship::definition().to_mermaid_overlay(&overlay));
}

#[tokio::test(start_paused = true)]
async fn failed_execution_marks_the_failing_state_failed() {
    let overlay = overlay_of(4).await;
    assert_eq!(visits(&overlay), [("Pick".into(), Visit::Failed)]);
    insta::assert_snapshot!(Ship::definition().to_mermaid_overlay(&overlay));
}

#[tokio::test(start_paused = true)]
async fn unfinished_execution_marks_where_it_is_in_progress() {
    let overlay = overlay_of(5).await;
    assert_eq!(overlay.get("Later"), Some(Visit::InProgress));
    assert_eq!(overlay.get("Standard"), None);
}

#[tokio::test(start_paused = true)]
async fn the_three_endings_draw_three_different_dot_graphs() {
    let succeeded = Ship::definition().to_dot_overlay(&overlay_of(2).await);
    let caught = Ship::definition().to_dot_overlay(&overlay_of(3).await);
    let failed = Ship::definition().to_dot_overlay(&overlay_of(4).await);
    // The Pick node's statement, whose label spans two lines.
    let pick = |dot: &str| {
        let start = dot.find("\"Pick\" [label").unwrap();
        let end = start + dot[start..].find("];").unwrap();
        dot[start..end].to_owned()
    };
    // Pick is green, orange and red in turn.
    assert!(pick(&succeeded).contains("#d9f2d9"), "{}", pick(&succeeded));
    assert!(pick(&caught).contains("#ffe9c7"), "{}", pick(&caught));
    assert!(pick(&failed).contains("#fde0e0"), "{}", pick(&failed));
    insta::assert_snapshot!(caught);
}

#[test]
fn a_retry_backing_off_is_in_progress_and_a_cancelled_state_aborted() {
    use workflow::{Event, EventKind};
    let event = |id, kind, state: Option<&'static str>| Event {
        id,
        previous_event_id: id - 1,
        timestamp: std::time::SystemTime::UNIX_EPOCH,
        kind,
        state: state.map(Into::into),
        data: None,
    };
    let mut history = vec![
        event(1, EventKind::ExecutionStarted, None),
        event(2, EventKind::TaskStateEntered, Some("Pick")),
        event(3, EventKind::TaskScheduled, Some("Pick")),
        event(4, EventKind::TaskFailed, Some("Pick")),
    ];
    assert_eq!(
        workflow::overlay(&history).get("Pick"),
        Some(Visit::InProgress)
    );
    history.push(event(5, EventKind::ExecutionAborted, None));
    assert_eq!(
        workflow::overlay(&history).get("Pick"),
        Some(Visit::Aborted)
    );
}

// Every workflow here exports ASL that asl-validator accepts and DOT that
// Graphviz renders.
#[macro_use]
#[path = "support/exports.rs"]
mod exports_check;
validate_exports!(Ship);
