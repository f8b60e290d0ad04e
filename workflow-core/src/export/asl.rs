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
        self.asl(children, &mut Vec::new())
    }

    fn asl(&self, children: &[&Definition], path: &mut Vec<String>) -> Asl {
        path.push(self.name.to_string());
        let states = self
            .states
            .iter()
            .map(|state| (state.name.to_string(), state_asl(state, children, path)))
            .collect();
        path.pop();
        Asl {
            comment: format!("The `{}` workflow, exported from Rust", self.name),
            start_at: self.start.to_string(),
            timeout_seconds: self.timeout.map(seconds),
            states,
        }
    }
}

/// A child workflow's machine, or a Pass state standing in for it.
fn child(name: &str, children: &[&Definition], path: &mut Vec<String>) -> Asl {
    let found = children.iter().find(|d| d.name == name);
    match found {
        Some(def) if !path.iter().any(|p| p == name) => def.asl(children, path),
        _ => Asl {
            comment: format!("The `{name}` workflow (its definition was not supplied)"),
            start_at: name.to_owned(),
            timeout_seconds: None,
            states: vec![(
                name.to_owned(),
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

fn catchers(catch: &[Catcher]) -> Vec<AslCatcher> {
    catch
        .iter()
        .map(|c| AslCatcher {
            error_equals: names(&c.on),
            next: c.next.to_string(),
        })
        .collect()
}

fn names(on: &[ErrorMatcher]) -> Vec<String> {
    on.iter().map(|m| m.asl_name().to_owned()).collect()
}

fn transition(state: &mut AslState, next: &Transition) {
    match next {
        Transition::Next(name) => state.next = Some(name.to_string()),
        Transition::End => state.end = Some(true),
    }
}

fn state_asl(state: &State, children: &[&Definition], path: &mut Vec<String>) -> AslState {
    let mut asl = AslState {
        kind: state.kind.type_name(),
        retry: retriers(&state.retry),
        catch: catchers(&state.catch),
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
            transition(&mut asl, next);
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
                    next: target.to_string(),
                })
                .collect();
        }
        Kind::Pass { handler, next } => {
            asl.comment = handler
                .as_ref()
                .map(|h| format!("Transformed by the Rust function `{h}`"));
            asl.next = Some(next.to_string());
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
            asl.next = Some(next.to_string());
        }
        Kind::Parallel { branches, next } => {
            asl.branches = branches.iter().map(|b| child(b, children, path)).collect();
            transition(&mut asl, next);
        }
        Kind::Map {
            workflow,
            items,
            max_concurrency,
            next,
            ..
        } => {
            let machine = child(workflow, children, path);
            asl.comment = Some(format!("The Rust function `{items}` lists the items"));
            asl.items_path = Some("$.__items".to_owned());
            asl.max_concurrency = Some(*max_concurrency);
            asl.item_processor = Some(AslProcessor {
                config: AslProcessorConfig { mode: "INLINE" },
                start_at: machine.start_at,
                states: machine.states,
            });
            transition(&mut asl, next);
        }
        Kind::Succeed => {}
        Kind::Fail { error, cause } => {
            asl.error = Some(error.to_string());
            asl.cause = cause.as_ref().map(ToString::to_string);
        }
    }
    asl
}
