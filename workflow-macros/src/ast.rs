//! The workflow as written: the enum, its states and their attributes, with
//! the user's tokens kept for spans. Parsing collects every error it can and
//! keeps going, so the model holds whatever did parse.

use std::time::Duration;

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Fields, Ident, ItemEnum, LitStr, Path, Type, Visibility};

use crate::attr;
use crate::ctxt::Errors;

/// The whole workflow.
pub(crate) struct Machine {
    /// The enum with the workflow attributes removed.
    pub item: ItemEnum,
    pub args: MachineArgs,
    pub states: Vec<StateAst>,
}

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

/// One state: a variant and its attributes.
pub(crate) struct StateAst {
    pub ident: Ident,
    pub ty: Type,
    pub start: Option<Span>,
    pub kind: Option<KindAst>,
    pub retry: Vec<RetryAst>,
    pub catch: Vec<CatchAst>,
}

/// The kind attribute of a state, with the span of its name.
pub(crate) struct KindAst {
    pub span: Span,
    pub spec: KindSpec,
}

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
        how: WaitAst,
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

pub(crate) enum WaitAst {
    Seconds(u64),
    Duration(Dur),
    Until(Path),
    Delay(Path),
}

pub(crate) struct RetryAst {
    pub span: Span,
    pub on: Vec<MatcherAst>,
    pub max_attempts: u32,
    pub interval: Duration,
    pub backoff: f64,
    pub backoff_span: Span,
    pub max_delay: Option<Duration>,
    pub jitter: workflow_core::Jitter,
}

pub(crate) struct CatchAst {
    pub span: Span,
    pub on: Vec<MatcherAst>,
    pub next: Ident,
}

/// One entry of `on = [...]`.
pub(crate) enum MatcherAst {
    Any(Span),
    TaskFailed(Span),
    Timeout(Span),
    HeartbeatTimeout(Span),
    /// A path to a variant of the handler's error type.
    Variant(Path),
}

impl MatcherAst {
    pub(crate) fn span(&self) -> Span {
        match self {
            MatcherAst::Any(s)
            | MatcherAst::TaskFailed(s)
            | MatcherAst::Timeout(s)
            | MatcherAst::HeartbeatTimeout(s) => *s,
            MatcherAst::Variant(path) => syn::spanned::Spanned::span(path),
        }
    }
}

impl Machine {
    pub(crate) fn parse(args: MachineArgs, mut item: ItemEnum, errors: &Errors) -> Machine {
        if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
            errors.spanned(
                &item.generics,
                "a workflow enum cannot be generic: its states' data types must be concrete",
            );
        }
        if item.variants.is_empty() {
            errors.spanned(
                &item.ident,
                "a workflow needs at least one state: add variants such as `#[start] #[task(f, end)] Begin(Input)`",
            );
        }
        let mut states = Vec::new();
        for variant in item.variants.iter_mut() {
            let (ours, typo) = attr::take_ours(&mut variant.attrs, errors);
            let ty = without_self(
                &data_type(&variant.ident, &variant.fields, errors),
                &item.ident,
            );
            states.push(attr::parse_state(
                variant.ident.clone(),
                ty,
                &ours,
                typo,
                errors,
            ));
        }
        Machine { item, args, states }
    }

    pub(crate) fn ident(&self) -> &Ident {
        &self.item.ident
    }

    pub(crate) fn vis(&self) -> &Visibility {
        &self.item.vis
    }

    pub(crate) fn state(&self, name: &Ident) -> Option<&StateAst> {
        self.states.iter().find(|s| s.ident == *name)
    }

    /// The state marked `#[start]` (the first, if several are).
    pub(crate) fn start(&self) -> Option<&StateAst> {
        self.states.iter().find(|s| s.start.is_some())
    }
}

/// The data type of a state: its one unnamed field. Any other shape is
/// reported with the type it most likely means (several fields as a tuple,
/// none as `()`), and that type is kept, so the fallback expansion and the
/// program that uses the workflow read the one the message suggests.
fn data_type(state: &Ident, fields: &Fields, errors: &Errors) -> Type {
    let types: Vec<&Type> = fields.iter().map(|f| &f.ty).collect();
    let meant: Type = match types.as_slice() {
        [one] => (*one).clone(),
        many => syn::parse_quote!((#(#many),*)),
    };
    let text = crate::lower::type_text(&meant);
    match fields {
        Fields::Unnamed(_) if types.len() == 1 => {}
        Fields::Unit => errors.spanned(
            state,
            format!("a state holds the data it receives: write `{state}(T)` (use `()` for no data)"),
        ),
        Fields::Unnamed(_) => errors.spanned(
            fields,
            format!("a state holds exactly one value: write `{state}({text})`, with a tuple or a struct for several"),
        ),
        Fields::Named(_) => errors.spanned(
            fields,
            format!("a state holds one value, without field names: write `{state}({text})`"),
        ),
    }
    meant
}

/// The type with `Self` replaced by the workflow's name: in the enum `Self`
/// is the enum, but generated code names the type outside it too (an
/// impl's header, the choice module), where `Self` means something else or
/// nothing.
fn without_self(ty: &Type, workflow: &Ident) -> Type {
    fn replace(tokens: TokenStream, workflow: &Ident) -> TokenStream {
        tokens
            .into_iter()
            .map(|tree| match tree {
                TokenTree::Ident(ident) if ident == "Self" => {
                    let mut named = workflow.clone();
                    named.set_span(ident.span());
                    TokenTree::Ident(named)
                }
                TokenTree::Group(group) => {
                    let mut inner =
                        Group::new(group.delimiter(), replace(group.stream(), workflow));
                    inner.set_span(group.span());
                    TokenTree::Group(inner)
                }
                other => other,
            })
            .collect()
    }
    // The replacement is a plain identifier where `Self` was, so the type
    // still parses; should it not, the type as written is kept.
    syn::parse2(replace(ty.to_token_stream(), workflow)).unwrap_or_else(|_| ty.clone())
}
