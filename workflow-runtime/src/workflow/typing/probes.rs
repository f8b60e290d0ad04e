//! Autoref-specialization probes: what generated code asks of a type that
//! may or may not be serde's, or a workflow, without an error when it is not.
//! Method lookup tries the receiver as written before its reference, so the
//! impl on the probe itself answers when its bound holds, and the one on
//! `&Probe` otherwise.

use crate::workflow::Workflow;

/// A child's output to JSON and back, for its checkpoint.
#[doc(hidden)]
pub struct Codec<T> {
    /// To JSON.
    pub encode: fn(&T) -> Result<String, serde_json::Error>,
    /// From JSON.
    pub decode: fn(&str) -> Result<T, serde_json::Error>,
}

/// Finds a child output's [`Codec`] through autoref specialization: a type
/// that is serde's has one ([`SerdeCodec`]); any other falls back to
/// [`NoCodec`], so an output type without serde still compiles (and its
/// children are not kept).
#[doc(hidden)]
pub struct CodecProbe<T>(pub std::marker::PhantomData<T>);

/// The probe's method for a serde type: its codec.
#[doc(hidden)]
pub trait SerdeCodec<T> {
    fn codec(&self) -> Option<Codec<T>>;
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> SerdeCodec<T> for CodecProbe<T> {
    fn codec(&self) -> Option<Codec<T>> {
        Some(Codec {
            encode: |output| serde_json::to_string(output),
            decode: |json| serde_json::from_str(json),
        })
    }
}

/// The probe's method for any other type: no codec.
#[doc(hidden)]
pub trait NoCodec<T> {
    fn codec(&self) -> Option<Codec<T>> {
        None
    }
}

impl<T> NoCodec<T> for &CodecProbe<T> {}

/// Finds a Parallel branch's or Map item's definition for
/// [`Workflow::children`], through autoref specialization: a type that is a
/// workflow is collected ([`CollectWorkflow`]); one that is not falls back to
/// [`CollectNothing`], so a wrong branch type gives only the one error the
/// state's own check reports.
#[doc(hidden)]
pub struct ChildProbe<T>(pub std::marker::PhantomData<T>);

/// The probe's method for a workflow: its definition, then its children.
#[doc(hidden)]
pub trait CollectWorkflow {
    fn collect_into(&self, found: &mut Vec<&'static workflow_core::Definition>);
}

impl<T: Workflow> CollectWorkflow for ChildProbe<T> {
    fn collect_into(&self, found: &mut Vec<&'static workflow_core::Definition>) {
        let definition = T::definition();
        if !found.iter().any(|d| std::ptr::eq(*d, definition)) {
            found.push(definition);
            T::collect_children(found);
        }
    }
}

/// The probe's method for anything else: nothing to collect.
#[doc(hidden)]
pub trait CollectNothing {
    fn collect_into(&self, _found: &mut Vec<&'static workflow_core::Definition>) {}
}

impl<T> CollectNothing for &ChildProbe<T> {}
