//! The approval example as a real service: this test binary runs its
//! `service` in a child process (itself, run as the server), talks to it over
//! HTTP, kills it with SIGKILL twice (once while approvals and a cooling-off
//! wait are pending, once while accepted documents cool off), starts it again
//! on the same file each time, and finishes every review; then it stops it
//! with SIGTERM and checks the graceful exit. The histories are read from
//! the file at the end, as the `workflow` CLI would.

#[path = "../examples/approval/service.rs"]
mod service;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use workflow::store::{Filter, SqliteStore, Store};
use workflow::{EventKind, PendingCallbacks, Status};

/// Set in the child: the folder of its database.
const SERVER: &str = "WORKFLOW_APPROVAL_SERVER";

/// The server, when this binary runs as one.
#[test]
fn approval_server() {
    let Ok(dir) = std::env::var(SERVER) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("listening on {}", listener.local_addr().unwrap());
        let office = service::Office {
            approval_over: 10,
            cooling_off: Duration::from_secs(3),
        };
        let engine = service::engine(&Path::new(&dir).join("reviews.db"), office).unwrap();
        service::serve(
            engine,
            listener,
            service::stop_signal(),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        println!("stopped");
    });
}

/// A running server process and its address.
struct Server {
    child: Child,
    lines: std::io::Lines<BufReader<std::process::ChildStdout>>,
    base: String,
}

impl Server {
    fn start(dir: &Path) -> Server {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "approval_server",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SERVER, dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // The server says where it listens once it does: no guessing.
        let address = lines
            .by_ref()
            .map(Result::unwrap)
            // (libtest may print the test's name on the same line first)
            .find_map(|line| {
                line.split_once("listening on ")
                    .map(|(_, at)| at.to_owned())
            })
            .expect("the server starts");
        Server {
            child,
            lines,
            base: format!("http://{address}"),
        }
    }

    fn kill(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    /// SIGTERM, then whether it stopped cleanly and said so.
    fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let said_stopped = self
            .lines
            .by_ref()
            .map(Result::unwrap)
            .any(|l| l.ends_with("stopped"));
        said_stopped && self.child.wait().unwrap().success()
    }
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn of(server: &Server) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: server.base.clone(),
        }
    }

    async fn submit(&self, name: &str, pages: u32) -> StatusCode {
        let document =
            json!({"title": format!("Title of {name}"), "pages": pages, "author": "ada"});
        self.http
            .put(format!("{}/documents/{name}", self.base))
            .json(&document)
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn describe(&self, name: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/documents/{name}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn outcome(&self, name: &str) -> Value {
        let response = self
            .http
            .get(format!("{}/documents/{name}/outcome", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn approvals(&self) -> PendingCallbacks {
        let response = self
            .http
            .get(format!("{}/approvals", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    async fn decide(&self, token: &str, approved: bool) -> StatusCode {
        self.http
            .post(format!("{}/approvals/{token}", self.base))
            .json(&json!({"approved": approved, "by": "grace"}))
            .send()
            .await
            .unwrap()
            .status()
    }

    /// Asks until `done` holds of what `read` returns: the server works on
    /// its own clock in another process, so there is nothing to await but
    /// its answers. Bounded, so a broken server fails the test.
    async fn until<T, F: Future<Output = T>>(
        &self,
        what: &str,
        read: impl Fn() -> F,
        done: impl Fn(&T) -> bool,
    ) -> T {
        for _ in 0..600 {
            let value = read().await;
            if done(&value) {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what} did not happen within 30 s");
    }
}

const LONG: [(&str, u32); 3] = [("spec", 40), ("manual", 12), ("memo", 30)];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_and_waits_survive_kills_and_the_service_stops_gracefully() {
    if std::env::var(SERVER).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let api = Api::of(&server);

    // Starts are idempotent by name: created, found, or a conflict.
    for (name, pages) in LONG {
        assert_eq!(api.submit(name, pages).await, StatusCode::CREATED);
    }
    assert_eq!(api.submit("note", 3).await, StatusCode::CREATED);
    assert_eq!(api.submit("blank", 0).await, StatusCode::CREATED);
    assert_eq!(api.submit("spec", 40).await, StatusCode::OK);
    assert_eq!(api.submit("spec", 41).await, StatusCode::CONFLICT);

    // The long documents wait for a person; the short one cools off.
    let pending = api
        .until(
            "three approvals pending",
            || api.approvals(),
            |p| p.callbacks.len() == 3,
        )
        .await;
    api.until(
        "the note cooling off",
        || api.describe("note"),
        |d| d["state"] == "CoolOff",
    )
    .await;
    let mut titles: Vec<_> = pending
        .callbacks
        .iter()
        .map(|c| {
            c.message.as_ref().unwrap()["title"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        ["Title of manual", "Title of memo", "Title of spec"]
    );

    // A crash while all that is pending.
    server.kill();
    let server = Server::start(dir.path());
    let api = Api::of(&server);

    // The approvals are still there, with the tokens the approvers hold.
    let after = api.approvals().await;
    let tokens = |page: &PendingCallbacks| {
        let mut tokens: Vec<_> = page
            .callbacks
            .iter()
            .map(|c| (c.execution_name.clone(), c.token.clone()))
            .collect();
        tokens.sort();
        tokens
    };
    assert_eq!(tokens(&after), tokens(&pending));
    let token_of = |name: &str| {
        after
            .callbacks
            .iter()
            .find(|c| c.execution_name == name)
            .unwrap()
            .token
            .clone()
    };
    assert_eq!(
        api.decide(&token_of("spec"), true).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.decide(&token_of("manual"), true).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.decide(&token_of("memo"), false).await,
        StatusCode::NO_CONTENT
    );
    // The same answer again is fine; another one is refused; so is a
    // token nobody gave out.
    assert_eq!(
        api.decide(&token_of("spec"), true).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.decide(&token_of("spec"), false).await,
        StatusCode::CONFLICT
    );
    assert_eq!(api.decide("not-a-token", true).await, StatusCode::NOT_FOUND);

    // A crash while the approved documents cool off.
    for name in ["spec", "manual"] {
        api.until(
            "an approved document cooling off",
            || api.describe(name),
            |d| d["state"] == "CoolOff",
        )
        .await;
    }
    assert!(api.approvals().await.callbacks.is_empty());
    server.kill();
    let server = Server::start(dir.path());
    let api = Api::of(&server);

    for name in ["spec", "manual", "note"] {
        let done = api.outcome(name).await;
        assert_eq!(done["status"], "Succeeded", "{name}: {done}");
        let title = format!("archived `Title of {name}`");
        assert_eq!(done["output"], json!(["told ada", title]), "{name}");
    }
    for (name, reason) in [
        ("memo", "rejected by grace"),
        ("blank", "the document is empty"),
    ] {
        let done = api.outcome(name).await;
        assert_eq!(done["status"], "Failed", "{name}: {done}");
        assert_eq!(done["error"]["name"], "Refused", "{name}");
        assert!(
            done["error"]["cause"].as_str().unwrap().contains(reason),
            "{name}: {done}"
        );
    }

    assert!(server.terminate(), "SIGTERM stops the service gracefully");
    check_histories(&dir.path().join("reviews.db")).await;
}

/// Every review's history, read from the file: gapless, each state entered
/// once, one end, and the restarts recorded.
async fn check_histories(path: &Path) {
    let store = SqliteStore::open(path).unwrap();
    let executions = store.list(Filter::default()).await.unwrap();
    assert_eq!(executions.len(), 5);
    for execution in executions {
        assert_ne!(
            execution.checkpoint.status,
            Status::Running,
            "{}",
            execution.name
        );
        let history = store.history(&execution.id).await.unwrap();
        for (i, event) in history.iter().enumerate() {
            assert_eq!(event.id, i as u64 + 1, "gapless: {}", execution.name);
        }
        let mut entered: Vec<_> = history
            .iter()
            .filter(|e| e.kind.name().ends_with("StateEntered"))
            .filter_map(|e| e.state.as_deref())
            .collect();
        let all = entered.len();
        entered.dedup();
        assert_eq!(all, entered.len(), "each state once: {}", execution.name);
        let ends = history
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    EventKind::ExecutionSucceeded | EventKind::ExecutionFailed
                )
            })
            .count();
        assert_eq!(ends, 1, "{}", execution.name);
    }
}
