//! The document-approval service: its workflow, its HTTP API and its
//! lifecycle. `main.rs` runs it; `tests/approval.rs` runs it in a child
//! process that it kills and restarts.
//!
//! | Request | What it does |
//! | --- | --- |
//! | `PUT /documents/{name}` with a [`Document`] | starts its review: `201 Created`, or `200 OK` if one with that name and content exists (`409` if the content differs) |
//! | `GET /documents/{name}` | describes it, with its output once it ended |
//! | `GET /documents/{name}/outcome` | waits until it ends, then describes it |
//! | `GET /approvals` | the approvals waiting for an answer |
//! | `POST /approvals/{token}` with a [`Decision`] | approves or rejects |
//!
//! A document is checked (retried while the checker is busy), then one of
//! more than [`Office::approval_over`] pages waits for a person's approval,
//! every accepted one cools off for [`Office::cooling_off`], and then the
//! author is told and the document archived, in parallel.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use workflow::prelude::*;
use workflow::store::SqliteStore;
use workflow::{EngineError, ExecutionError, PendingFilter};

/// What every step shares: the service's settings.
#[derive(Debug, Clone)]
pub struct Office {
    /// Documents longer than this need a person's approval.
    pub approval_over: u32,
    /// How long an accepted document waits before it is published.
    pub cooling_off: Duration,
}

impl Default for Office {
    fn default() -> Self {
        Office {
            approval_over: 10,
            cooling_off: Duration::from_secs(60),
        }
    }
}

/// A document to review: the body of `PUT /documents/{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Its title.
    pub title: String,
    /// How many pages it has.
    pub pages: u32,
    /// Who wrote it.
    pub author: String,
}

/// An approver's answer: the body of `POST /approvals/{token}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Whether the document may be published.
    pub approved: bool,
    /// Who decided.
    pub by: String,
}

/// A document that passed its review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    /// The document.
    pub document: Document,
    /// Who approved it; `None` when it needed no approval.
    pub approved_by: Option<String>,
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum ReviewError {
    /// The checker is busy: retried.
    #[error("the checker is busy")]
    Busy,
    /// The document has no pages.
    #[error("the document is empty")]
    Empty,
    /// An approver said no.
    #[error("rejected by {0}")]
    Rejected(String),
    /// The approval could not be waited for.
    #[error("the approval failed: {0}")]
    Approval(String),
}

/// Why a review ended without publishing: the data of the failed state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Refusal {
    /// The document's title.
    pub title: String,
    /// The reason.
    pub reason: String,
}

impl From<Caught<Document, ReviewError>> for Refusal {
    fn from(caught: Caught<Document, ReviewError>) -> Self {
        Refusal {
            title: caught.input.title,
            reason: caught.error.to_string(),
        }
    }
}

/// The review of one document.
#[workflow(context = Office)]
#[derive(Serialize, Deserialize)]
pub enum Review {
    #[start]
    #[task(check, next = Route)]
    #[retry(on = [ReviewError::Busy], max_attempts = 3, interval = "200ms")]
    #[catch(on = [ReviewError::Empty], next = Refused)]
    Check(Document),

    #[choice(route, next = [AskApproval, CoolOff])]
    Route(Document),

    #[task(ask_approval, next = CoolOff)]
    #[catch(on = [ReviewError::Rejected], next = Refused)]
    AskApproval(Document),

    #[wait(delay = cooling_off, next = Publish)]
    CoolOff(Accepted),

    #[parallel(branches = [TellAuthor, Archive], next = Published)]
    Publish(Accepted),

    #[succeed]
    Published((String, String)),

    #[fail(error = "Refused", cause = reason)]
    Refused(Refusal),
}

async fn check(cx: Ctx<'_, Office>, document: Document) -> Result<Document, ReviewError> {
    if document.pages == 0 {
        return Err(ReviewError::Empty);
    }
    // The checker is busy for every document's first try.
    if cx.attempt() == 1 {
        return Err(ReviewError::Busy);
    }
    Ok(document)
}

// Settings come from the context, not the input: changing them does not
// change what a document's idempotent start compares.
fn route(office: &Office, document: Document) -> review::Route {
    if document.pages > office.approval_over {
        review::Route::AskApproval(document)
    } else {
        review::Route::CoolOff(Accepted {
            document,
            approved_by: None,
        })
    }
}

async fn ask_approval(cx: Ctx<'_, Office>, document: Document) -> Result<Accepted, ReviewError> {
    // Listed by `GET /approvals` with the document, until someone answers.
    let decision: Decision = cx
        .callback_with(&document)
        .await
        .map_err(|error| ReviewError::Approval(error.to_string()))?;
    if !decision.approved {
        return Err(ReviewError::Rejected(decision.by));
    }
    Ok(Accepted {
        document,
        approved_by: Some(decision.by),
    })
}

fn cooling_off(office: &Office, _: &Accepted) -> Duration {
    office.cooling_off
}

/// Tells the author: one branch of the publication.
#[workflow(context = Office)]
#[derive(Serialize, Deserialize)]
pub enum TellAuthor {
    #[start]
    #[task(tell_author, next = Told)]
    Tell(Accepted),

    #[succeed]
    Told(String),
}

async fn tell_author(_cx: Ctx<'_, Office>, accepted: Accepted) -> Result<String, ReviewError> {
    Ok(format!("told {}", accepted.document.author))
}

/// Archives the document: the other branch.
#[workflow(context = Office)]
#[derive(Serialize, Deserialize)]
pub enum Archive {
    #[start]
    #[task(archive, next = Archived)]
    Store(Accepted),

    #[succeed]
    Archived(String),
}

async fn archive(_cx: Ctx<'_, Office>, accepted: Accepted) -> Result<String, ReviewError> {
    Ok(format!("archived `{}`", accepted.document.title))
}

/// The engine over the SQLite file at `path`, with the workflows registered.
///
/// # Errors
///
/// The store's error if the file cannot be opened.
pub fn engine(path: &Path, office: Office) -> Result<Engine<Office>, workflow::store::StoreError> {
    let engine = Engine::builder(office)
        .store(SqliteStore::open(path)?)
        .build();
    engine.register::<Review>();
    Ok(engine)
}

/// Serves the API on `listener` until `shutdown` completes, then stops the
/// engine gracefully: running steps get `grace` to reach their checkpoint.
/// Executions waiting for an approval or a timer wait in the file; the
/// next start of the service goes on with them.
///
/// # Errors
///
/// The store's or the listener's error.
pub async fn serve(
    engine: Engine<Office>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    engine.recover().await?;
    axum::serve(listener, router(engine.clone()))
        .with_graceful_shutdown(shutdown)
        .await?;
    engine.shutdown(grace).await?;
    Ok(())
}

/// Ctrl-C, or SIGTERM where there are signals (how a service is stopped).
pub async fn stop_signal() {
    let interrupt = async {
        // Without a handler there is nothing to wait for; SIGTERM still stops it.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => drop(terminate.recv().await),
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// The HTTP API over the engine.
pub fn router(engine: Engine<Office>) -> Router {
    Router::new()
        .route("/documents/{name}", put(submit).get(describe))
        .route("/documents/{name}/outcome", get(outcome))
        .route("/approvals", get(approvals))
        .route("/approvals/{token}", post(decide))
        .with_state(Arc::new(engine))
}

type Shared = State<Arc<Engine<Office>>>;

async fn submit(
    State(engine): Shared,
    UrlPath(name): UrlPath<String>,
    Json(document): Json<Document>,
) -> Result<Response, ApiError> {
    let handle = engine.start::<Review>(name, document).await?;
    let status = if handle.is_new() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let description = handle.describe().await?;
    Ok((status, Json(description)).into_response())
}

async fn describe(
    State(engine): Shared,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    match engine.describe(&name).await? {
        Some(description) => Ok(Json(description).into_response()),
        None => Ok(StatusCode::NOT_FOUND.into_response()),
    }
}

async fn outcome(
    State(engine): Shared,
    UrlPath(name): UrlPath<String>,
) -> Result<Response, ApiError> {
    let Some(handle) = engine.find_handle::<Review>(&name).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    match handle.outcome().await {
        // A refused document ended as it should; its description says why.
        Ok(_) | Err(ExecutionError::Failed(_)) => describe(State(engine), UrlPath(name)).await,
        Err(other) => Err(ApiError::Execution(other)),
    }
}

/// `GET /approvals[?after=<cursor>]`: a page of the approvals waiting for
/// an answer, oldest first, with the cursor of the next page.
async fn approvals(State(engine): Shared, Query(page): Query<Page>) -> Result<Response, ApiError> {
    let mut filter = PendingFilter::new().workflow("Review");
    if let Some(after) = page.after {
        filter = filter.after(after);
    }
    Ok(Json(engine.pending_callbacks(filter).await?).into_response())
}

/// Which page of a list.
#[derive(Debug, Deserialize)]
pub struct Page {
    /// The cursor a previous page gave.
    pub after: Option<String>,
}

async fn decide(
    State(engine): Shared,
    UrlPath(token): UrlPath<String>,
    Json(decision): Json<Decision>,
) -> Result<Response, ApiError> {
    engine.complete_task(&token, decision).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// An error as the API answers it.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The execution could not be waited for.
    #[error(transparent)]
    Execution(ExecutionError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Engine(
                EngineError::NameConflict { .. } | EngineError::AlreadyAnswered(_),
            ) => StatusCode::CONFLICT,
            ApiError::Engine(EngineError::InvalidToken(_) | EngineError::InvalidCursor(_)) => {
                StatusCode::NOT_FOUND
            }
            ApiError::Engine(EngineError::StaleToken(_)) => StatusCode::GONE,
            ApiError::Engine(EngineError::WrongType { .. }) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Engine(EngineError::Stopped) | ApiError::Execution(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Engine(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, self.to_string()).into_response()
    }
}
