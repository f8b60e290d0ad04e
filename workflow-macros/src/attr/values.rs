//! What each attribute said, as plain values: no syn attribute left in them,
//! only the user's names, paths, types and the spans to report on. They know
//! nothing of the AST; it is built from them (`build.rs`) and holds them.

use std::time::Duration;

use proc_macro2::Span;
use syn::{Ident, LitStr, Path, Type};

/// The arguments of `#[workflow(...)]`.
pub(crate) struct MachineArgs {
    pub context: Option<Type>,
    /// A context was given but could not be read as a type.
    pub context_unread: bool,
    pub output: Option<Type>,
    pub timeout: Option<Dur>,
    /// The path to the `workflow` crate in generated code.
    pub krate: Path,
    /// The name of the generated module (the enum's name in snake_case).
    pub module: Option<Ident>,
}

/// One of the workflow's attributes on a variant. How several of them make
/// one state (one kind, one start) is the AST's business, not theirs.
pub(crate) enum StateAttr {
    /// `#[start]`, at the span of its name.
    Start(Span),
    /// A kind attribute: its name (from `KIND_ATTRS`), the span of the name,
    /// and what it said; `None` when it did not parse (reported already),
    /// so the state still counts as having a kind.
    Kind {
        name: &'static str,
        span: Span,
        spec: Option<KindSpec>,
    },
    Retry(Retry),
    Catch(Catch),
}

/// What a kind attribute says.
pub(crate) enum KindSpec {
    Task {
        handler: Path,
        next: Target,
        timeout: Option<Dur>,
        heartbeat: Option<Dur>,
    },
    Choice {
        handler: Path,
        targets: Vec<Ident>,
    },
    Pass {
        handler: Option<Path>,
        next: Ident,
    },
    Wait {
        how: Wait,
        next: Ident,
    },
    Parallel {
        branches: Vec<Path>,
        next: Target,
    },
    Map {
        workflow: Path,
        items: Path,
        max_concurrency: u32,
        tolerated_failures: Option<u32>,
        tolerated_percentage: Option<(f64, Span)>,
        next: Target,
    },
    Succeed,
    Fail {
        error: LitStr,
        cause: Option<FailCause>,
    },
}

/// Where a Fail state's cause comes from, when the attribute says.
#[derive(Clone)]
pub(crate) enum FailCause {
    /// `cause = "text"`: always this text.
    Fixed(LitStr),
    /// `cause = field`: this field of the state's data, by `Display`.
    Field(Ident),
}

/// Where a state that does work goes.
#[derive(Clone)]
pub(crate) enum Target {
    Next(Ident),
    End(Span),
}

/// A duration given as a string, with the string's span.
#[derive(Clone, Copy)]
pub(crate) struct Dur {
    pub value: Duration,
    pub span: Span,
}

/// How long a `#[wait]` state waits.
pub(crate) enum Wait {
    Seconds(u64),
    Duration(Dur),
    Until(Path),
    Delay(Path),
}

/// `#[retry(...)]`, with the defaults filled in.
pub(crate) struct Retry {
    pub span: Span,
    pub on: Vec<Matcher>,
    pub max_attempts: u32,
    pub interval: Duration,
    pub backoff: f64,
    pub backoff_span: Span,
    pub max_delay: Option<Duration>,
    pub jitter: workflow_core::Jitter,
}

/// `#[catch(...)]`.
pub(crate) struct Catch {
    pub span: Span,
    pub on: Vec<Matcher>,
    pub next: Ident,
}

/// One entry of `on = [...]`.
pub(crate) enum Matcher {
    Any(Span),
    TaskFailed(Span),
    Timeout(Span),
    HeartbeatTimeout(Span),
    /// A path to a variant of the handler's error type.
    Variant(Path),
}

impl Matcher {
    pub(crate) fn span(&self) -> Span {
        match self {
            Matcher::Any(s)
            | Matcher::TaskFailed(s)
            | Matcher::Timeout(s)
            | Matcher::HeartbeatTimeout(s) => *s,
            Matcher::Variant(path) => syn::spanned::Spanned::span(path),
        }
    }
}
