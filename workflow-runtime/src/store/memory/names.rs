//! The strings a memory store keeps once each.

use std::sync::Arc;

use super::HashMap;
use crate::store::StoreError;

/// Strings that repeat across executions (workflow names, versions, state
/// names), kept once each. They come from the workflows' definitions, so
/// there are few; like the rows, they are never dropped.
#[derive(Debug, Default)]
pub(super) struct Names {
    list: Vec<Arc<str>>,
    index: HashMap<Arc<str>, Name>,
    /// Strings that live as long as the program (events' state names, from
    /// the definitions), by address and length: a word-sized key hashes and
    /// compares faster than the string. Such a string never changes, so its
    /// address stands for it.
    statics: HashMap<(usize, usize), Name>,
    /// Each workflow, path and version executions were started with, so a
    /// row keeps one number for the three.
    kinds: Vec<Kind>,
    kind_index: HashMap<Kind, Name>,
}

/// A workflow's name, path and version.
pub(super) type Kind = (Name, Option<Name>, Name);

/// A string's place in [`Names`].
pub(super) type Name = u32;

impl Names {
    pub(super) fn intern(&mut self, name: &str) -> Result<Name, StoreError> {
        if let Some(&n) = self.index.get(name) {
            return Ok(n);
        }
        let n = Name::try_from(self.list.len())
            .map_err(|_| StoreError::Full("too many distinct names in memory".to_owned()))?;
        let name: Arc<str> = Arc::from(name);
        self.list.push(Arc::clone(&name));
        self.index.insert(name, n);
        Ok(n)
    }

    /// [`intern`](Names::intern) for a string that lives as long as the
    /// program.
    pub(super) fn intern_static(&mut self, name: &'static str) -> Result<Name, StoreError> {
        let key = (name.as_ptr() as usize, name.len());
        if let Some(&n) = self.statics.get(&key) {
            return Ok(n);
        }
        let n = self.intern(name)?;
        self.statics.insert(key, n);
        Ok(n)
    }

    /// The number of a workflow, path and version.
    pub(super) fn kind(
        &mut self,
        workflow: &str,
        path: Option<&str>,
        version: &str,
    ) -> Result<Name, StoreError> {
        let kind = (
            self.intern(workflow)?,
            path.map(|p| self.intern(p)).transpose()?,
            self.intern(version)?,
        );
        if let Some(&n) = self.kind_index.get(&kind) {
            return Ok(n);
        }
        let n = Name::try_from(self.kinds.len())
            .map_err(|_| StoreError::Full("too many distinct workflows in memory".to_owned()))?;
        self.kinds.push(kind);
        self.kind_index.insert(kind, n);
        Ok(n)
    }

    /// The workflow, path and version [`kind`](Names::kind) numbered.
    pub(super) fn kind_of(&self, n: Name) -> Option<Kind> {
        self.kinds.get(n as usize).copied()
    }

    pub(super) fn get(&self, n: Name) -> &str {
        // Every stored `Name` came from `intern`, and names are never removed.
        self.list.get(n as usize).map_or("", |s| s)
    }
}
