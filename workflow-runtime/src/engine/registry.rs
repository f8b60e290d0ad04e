//! The registry of workflows an engine starts and resumes: keyed by each
//! workflow's path, and how a stored execution finds its own.

use super::*;

pub(super) type ResumeFn<C> = fn(&Engine<C>, StoredExecution) -> Result<(), RecoveryError>;

pub(super) struct Registered<C> {
    /// The workflow's type; `None` once two types of one path were
    /// registered (see [`enroll`]).
    pub(super) type_id: Option<std::any::TypeId>,
    /// Its short name, as executions store it.
    pub(super) name: String,
    pub(super) version: String,
    pub(super) resume: ResumeFn<C>,
    /// The workflow's [`Launch`], for `start` to find by its type.
    pub(super) launch: Box<dyn std::any::Any + Send + Sync>,
    /// The workflow's and its children's definitions, until the first start
    /// has kept them in the store.
    pub(super) unsaved: Vec<StoredDefinition>,
}

/// What `start` needs of a workflow beyond [`Workflow`]: its serde and the
/// engine's context, as functions made by `register`, whose bounds check
/// them. `start` finds them here by the workflow's type, so it carries no
/// such bound itself, and a workflow that misses one is told so once, at
/// `register`, not again at every `start`.
pub(super) struct Launch<C, W: Workflow> {
    /// The input as JSON, kept beside the execution (a second start of the
    /// same name compares it).
    pub(super) input: fn(&W::Input) -> Result<String, EngineError>,
    /// A checkpoint as JSON.
    pub(super) state: fn(&W) -> Result<String, EngineError>,
    /// Drives an execution from a checkpoint, in a task of its own.
    pub(super) spawn: fn(&Engine<C>, Run<'_>, W, Progress),
    /// The engine as the handle's type: the identity, since `register`
    /// checked that the workflow's context is the engine's.
    pub(super) engine: fn(Engine<C>) -> Engine<W::Context>,
    /// The output from JSON, for the handle.
    pub(super) output: fn(&str) -> Result<W::Output, serde_json::Error>,
}

impl<C, W: Workflow> Clone for Launch<C, W> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C, W: Workflow> Copy for Launch<C, W> {}

/// Adds a workflow to the registry under its path. A second type under
/// the same path (`module_path!` names no functions, so enums of one name
/// in two functions of one module share one) marks the path as shared by
/// two: the store could not tell their executions apart, so neither is
/// started nor resumed, instead of one running as the other.
pub(super) fn enroll<C>(
    registry: &mut HashMap<String, Registered<C>>,
    path: &str,
    workflow: Registered<C>,
) {
    match registry.get_mut(path) {
        Some(existing) if existing.type_id != workflow.type_id => {
            tracing::error!(
                path,
                "two workflows registered on one engine have one path: neither runs"
            );
            existing.type_id = None;
        }
        _ => {
            registry.insert(path.to_owned(), workflow);
        }
    }
}

impl<C: Send + Sync + 'static> Engine<C> {
    /// The version and resume function of the registered workflow an
    /// execution belongs to: the one of its path. An execution stored
    /// before paths were has only its workflow's name: the one registered
    /// workflow of that name, or of those, the one of its version.
    pub(super) fn registered_for(
        &self,
        execution: &StoredExecution,
    ) -> Result<(String, ResumeFn<C>), RecoveryError> {
        let registry = lock(&self.shared.registry);
        let problem = |ambiguous: bool, workflow: &str| {
            let (execution, workflow) = (execution.id.clone(), workflow.to_owned());
            if ambiguous {
                RecoveryError::Ambiguous {
                    execution,
                    workflow,
                }
            } else {
                RecoveryError::Unregistered {
                    execution,
                    workflow,
                }
            }
        };
        let found = match &execution.path {
            Some(path) => match registry.get(path) {
                Some(found) if found.name == execution.workflow => found,
                // A path names its workflow: another name under it is
                // not the workflow registered there.
                Some(_) => return Err(problem(false, &execution.workflow)),
                None => return Err(problem(false, path)),
            },
            None => {
                let named: Vec<&Registered<C>> = registry
                    .values()
                    .filter(|r| r.name == execution.workflow)
                    .collect();
                let chosen = if let [one] = named[..] {
                    Some(one)
                } else {
                    let mut of_version = named.iter().filter(|r| r.version == execution.version);
                    match (of_version.next(), of_version.next()) {
                        (Some(one), None) => Some(*one),
                        _ => None,
                    }
                };
                chosen.ok_or_else(|| problem(!named.is_empty(), &execution.workflow))?
            }
        };
        if found.type_id.is_none() {
            return Err(problem(
                true,
                execution.path.as_deref().unwrap_or(&execution.workflow),
            ));
        }
        Ok((found.version.clone(), found.resume))
    }
}
