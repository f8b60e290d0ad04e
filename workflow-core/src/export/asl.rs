//! Amazon States Language, as a serializable document.
//!
//! The document is a `Serialize` value with ASL's field names, so this
//! crate stays free of a JSON library: `serde_json::to_string_pretty(&asl)`
//! gives the JSON. Where Rust code decides (a choice's function, a wait's
//! computed time, a map's items), the document reads the decision from a
//! path named after it and says so in a `Comment`.

use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::definition::{
    Catcher, Definition, ErrorMatcher, Jitter, Kind, Retrier, State, Transition, WaitFor,
};

/// A state machine in Amazon States Language.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Asl {
    /// What the machine is.
    #[serde(rename = "Comment")]
    pub comment: String,
    /// The start state.
    #[serde(rename = "StartAt")]
    pub start_at: String,
    /// The bound on a whole execution.
    #[serde(rename = "TimeoutSeconds", skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// The states, in declaration order.
    #[serde(rename = "States", serialize_with = "in_order")]
    pub states: Vec<(String, AslState)>,
}

/// One state in Amazon States Language.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[allow(missing_docs)] // Each field is the ASL field of its `rename`.
pub struct AslState {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    #[serde(rename = "Comment", skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(rename = "Resource", skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(rename = "TimeoutSeconds", skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    #[serde(rename = "HeartbeatSeconds", skip_serializing_if = "Option::is_none")]
    pub heartbeat_seconds: Option<u64>,
    #[serde(rename = "Choices", skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<AslChoice>,
    #[serde(rename = "Seconds", skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
    #[serde(rename = "SecondsPath", skip_serializing_if = "Option::is_none")]
    pub seconds_path: Option<String>,
    #[serde(rename = "TimestampPath", skip_serializing_if = "Option::is_none")]
    pub timestamp_path: Option<String>,
    #[serde(rename = "Branches", skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<Asl>,
    #[serde(rename = "ItemsPath", skip_serializing_if = "Option::is_none")]
    pub items_path: Option<String>,
    #[serde(rename = "ItemProcessor", skip_serializing_if = "Option::is_none")]
    pub item_processor: Option<AslProcessor>,
    #[serde(rename = "MaxConcurrency", skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    #[serde(rename = "Error", skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(rename = "Cause", skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(rename = "Retry", skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<AslRetrier>,
    #[serde(rename = "Catch", skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<AslCatcher>,
    #[serde(rename = "Next", skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    #[serde(rename = "End", skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

/// One rule of a Choice state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)]
pub struct AslChoice {
    #[serde(rename = "Variable")]
    pub variable: String,
    #[serde(rename = "StringEquals")]
    pub string_equals: String,
    #[serde(rename = "Next")]
    pub next: String,
}

/// A Map state's item processor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)]
pub struct AslProcessor {
    #[serde(rename = "ProcessorConfig")]
    pub config: AslProcessorConfig,
    #[serde(rename = "StartAt")]
    pub start_at: String,
    #[serde(rename = "States", serialize_with = "in_order")]
    pub states: Vec<(String, AslState)>,
}

/// A Map state's processing mode.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)]
pub struct AslProcessorConfig {
    #[serde(rename = "Mode")]
    pub mode: &'static str,
}

/// A retrier.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)]
pub struct AslRetrier {
    #[serde(rename = "ErrorEquals")]
    pub error_equals: Vec<String>,
    #[serde(rename = "IntervalSeconds")]
    pub interval_seconds: u64,
    #[serde(rename = "MaxAttempts")]
    pub max_attempts: u32,
    #[serde(rename = "BackoffRate")]
    pub backoff_rate: f64,
    #[serde(rename = "MaxDelaySeconds", skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<u64>,
    #[serde(rename = "JitterStrategy")]
    pub jitter_strategy: &'static str,
}

/// A catcher.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[allow(missing_docs)]
pub struct AslCatcher {
    #[serde(rename = "ErrorEquals")]
    pub error_equals: Vec<String>,
    #[serde(rename = "Next")]
    pub next: String,
}

/// States as a JSON object whose keys keep declaration order.
fn in_order<S: Serializer>(
    states: &[(String, AslState)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(states.iter().map(|(name, state)| (name, state)))
}

/// ASL counts whole seconds, at least one: a shorter duration rounds up.
fn seconds(duration: Duration) -> u64 {
    let whole = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    whole.max(1)
}

impl Definition {
    /// The machine in Amazon States Language. `children` supplies the
    /// definitions of branch and map workflows by name; one that is missing
    /// (or that would recur into itself) becomes a single Pass state saying
    /// so.
    pub fn to_asl(&self, children: &[&Definition]) -> Asl {
        self.asl(children, &mut Vec::new(), "")
    }

    /// The machine, each state named `prefix` + its own name.
    fn asl(&self, children: &[&Definition], path: &mut Vec<String>, prefix: &str) -> Asl {
        path.push(self.name.to_string());
        let states = self
            .states
            .iter()
            .map(|state| {
                let scope = Scope {
                    children,
                    prefix,
                    state: &state.name,
                };
                (scope.name(&state.name), state_asl(state, &scope, path))
            })
            .collect();
        path.pop();
        Asl {
            comment: format!("The `{}` workflow, exported from Rust", self.name),
            start_at: format!("{prefix}{}", self.start),
            timeout_seconds: self.timeout.map(seconds),
            states,
        }
    }
}

/// Where a state is exported: ASL wants state names unique across the whole
/// machine, branches and item processors included, so a child workflow's
/// states are named after the state that runs it and the child, as in
/// `Notify.Invoice.Write`.
struct Scope<'a> {
    children: &'a [&'a Definition],
    /// The prefix of this machine's state names (empty at the top).
    prefix: &'a str,
    /// The state being exported, by its own name.
    state: &'a str,
}

impl Scope<'_> {
    /// A state of this machine, by its exported name.
    fn name(&self, state: &str) -> String {
        format!("{}{state}", self.prefix)
    }

    /// The prefix for the states of child `workflow`, the `index`th of
    /// `siblings` run by this state.
    fn child_prefix(&self, workflow: &str, index: usize, siblings: &[&str]) -> String {
        let repeated = siblings.iter().filter(|s| **s == workflow).count() > 1;
        if repeated {
            format!("{}{}.{workflow}#{index}.", self.prefix, self.state)
        } else {
            format!("{}{}.{workflow}.", self.prefix, self.state)
        }
    }
}

/// A child workflow's machine, or a Pass state standing in for it.
fn child(name: &str, scope: &Scope<'_>, path: &mut Vec<String>, prefix: &str) -> Asl {
    let found = scope.children.iter().find(|d| d.name == name);
    match found {
        Some(def) if !path.iter().any(|p| p == name) => def.asl(scope.children, path, prefix),
        _ => Asl {
            comment: format!("The `{name}` workflow (its definition was not supplied)"),
            start_at: format!("{prefix}{name}"),
            timeout_seconds: None,
            states: vec![(
                format!("{prefix}{name}"),
                AslState {
                    kind: "Pass",
                    end: Some(true),
                    ..AslState::default()
                },
            )],
        },
    }
}

fn retriers(retry: &[Retrier]) -> Vec<AslRetrier> {
    retry
        .iter()
        .map(|r| AslRetrier {
            error_equals: names(&r.on),
            interval_seconds: seconds(r.interval),
            max_attempts: r.max_attempts,
            backoff_rate: r.backoff,
            max_delay_seconds: r.max_delay.map(seconds),
            jitter_strategy: match r.jitter {
                Jitter::None => "NONE",
                Jitter::Full => "FULL",
            },
        })
        .collect()
}

fn catchers(catch: &[Catcher], scope: &Scope<'_>) -> Vec<AslCatcher> {
    catch
        .iter()
        .map(|c| AslCatcher {
            error_equals: names(&c.on),
            next: scope.name(&c.next),
        })
        .collect()
}

fn names(on: &[ErrorMatcher]) -> Vec<String> {
    on.iter().map(|m| m.asl_name().to_owned()).collect()
}

fn transition(state: &mut AslState, next: &Transition, scope: &Scope<'_>) {
    match next {
        Transition::Next(name) => state.next = Some(scope.name(name)),
        Transition::End => state.end = Some(true),
    }
}

fn state_asl(state: &State, scope: &Scope<'_>, path: &mut Vec<String>) -> AslState {
    let mut asl = AslState {
        kind: state.kind.type_name(),
        retry: retriers(&state.retry),
        catch: catchers(&state.catch, scope),
        ..AslState::default()
    };
    match &state.kind {
        Kind::Task {
            handler,
            next,
            timeout,
            heartbeat,
        } => {
            // An ARN, as ASL validators require: a "service integration"
            // named after the Rust handler.
            asl.resource = Some(format!("arn:aws:states:::rust:{handler}"));
            asl.timeout_seconds = timeout.map(seconds);
            asl.heartbeat_seconds = heartbeat.map(seconds);
            transition(&mut asl, next, scope);
        }
        Kind::Choice { handler, targets } => {
            asl.comment = Some(format!(
                "The Rust function `{handler}` decides; its decision is read from $.__choice"
            ));
            asl.choices = targets
                .iter()
                .map(|target| AslChoice {
                    variable: "$.__choice".to_owned(),
                    string_equals: target.to_string(),
                    next: scope.name(target),
                })
                .collect();
        }
        Kind::Pass { handler, next } => {
            asl.comment = handler
                .as_ref()
                .map(|h| format!("Transformed by the Rust function `{h}`"));
            asl.next = Some(scope.name(next));
        }
        Kind::Wait { wait, next } => {
            match wait {
                WaitFor::Seconds(n) => asl.seconds = Some((*n).max(1)),
                WaitFor::Duration(d) => asl.seconds = Some(seconds(*d)),
                WaitFor::Until(f) => {
                    asl.comment = Some(format!("The Rust function `{f}` computes the time"));
                    asl.timestamp_path = Some("$.__wait_until".to_owned());
                }
                WaitFor::Delay(f) => {
                    asl.comment = Some(format!("The Rust function `{f}` computes the delay"));
                    asl.seconds_path = Some("$.__wait_seconds".to_owned());
                }
            }
            asl.next = Some(scope.name(next));
        }
        Kind::Parallel { branches, next } => {
            let siblings: Vec<&str> = branches.iter().map(|b| &**b).collect();
            asl.branches = siblings
                .iter()
                .enumerate()
                .map(|(i, b)| child(b, scope, path, &scope.child_prefix(b, i, &siblings)))
                .collect();
            transition(&mut asl, next, scope);
        }
        Kind::Map {
            workflow,
            items,
            max_concurrency,
            next,
            ..
        } => {
            let prefix = scope.child_prefix(workflow, 0, &[workflow]);
            let machine = child(workflow, scope, path, &prefix);
            asl.comment = Some(format!("The Rust function `{items}` lists the items"));
            asl.items_path = Some("$.__items".to_owned());
            asl.max_concurrency = Some(*max_concurrency);
            asl.item_processor = Some(AslProcessor {
                config: AslProcessorConfig { mode: "INLINE" },
                start_at: machine.start_at,
                states: machine.states,
            });
            transition(&mut asl, next, scope);
        }
        Kind::Succeed => {}
        Kind::Fail { error, cause } => {
            asl.error = Some(error.to_string());
            asl.cause = cause.as_ref().map(ToString::to_string);
        }
    }
    asl
}
