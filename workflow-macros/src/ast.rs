//! The workflow as written: the enum, its states and what their attributes
//! said, with the user's tokens kept for spans. It is built (`build.rs`)
//! from the enum and the attributes' values (`attr/`), collecting every
//! error it can and going on, so the model holds whatever did parse.

use proc_macro2::Span;
use syn::{Ident, ItemEnum, Type, Visibility};

use crate::attr::{Catch, MachineArgs, Retry};

/// The leaves of the AST are the attributes' values, as serde_derive's
/// `ast::Field` holds an `attr::Field`; the later passes read them from
/// here.
pub(crate) use crate::attr::{FailCause, KindSpec, Matcher, Target, Wait};

/// The whole workflow.
pub(crate) struct Machine {
    /// The enum with the workflow attributes removed.
    pub item: ItemEnum,
    pub args: MachineArgs,
    pub states: Vec<StateAst>,
}

/// One state: a variant and its attributes.
pub(crate) struct StateAst {
    pub ident: Ident,
    pub ty: Type,
    pub start: Option<Span>,
    pub kind: Option<KindAst>,
    pub retry: Vec<Retry>,
    pub catch: Vec<Catch>,
}

/// The kind attribute of a state, with the span of its name.
pub(crate) struct KindAst {
    pub span: Span,
    pub spec: KindSpec,
}

impl Machine {
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
