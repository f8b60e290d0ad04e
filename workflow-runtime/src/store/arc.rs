//! A store behind an [`Arc`] is a store: an application can give the
//! engine a clone and keep one for itself (to resize a SQLite file, say,
//! or to read it directly).

use std::sync::Arc;
use std::time::SystemTime;

use super::{
    AwaitedCallback, CallbackResult, ChildTransition, Claim, Claimed, Created, Filter,
    FinishedChild, NewExecution, PendingQuery, PendingRow, Store, StoreFuture, StoredDefinition,
    StoredExecution, Transition,
};
use crate::history::Event;

/// Every method goes to the store inside, defaults included, so a store's
/// own wake-up channel, sharing and engine lock hold through the `Arc`.
impl<S: Store + ?Sized> Store for Arc<S> {
    fn create(
        &self,
        execution: NewExecution,
        owner: &str,
        lease_until: SystemTime,
    ) -> StoreFuture<'_, Created> {
        (**self).create(execution, owner, lease_until)
    }

    fn commit(&self, transition: Transition) -> StoreFuture<'_, ()> {
        (**self).commit(transition)
    }

    fn commit_children(&self, transition: ChildTransition) -> StoreFuture<'_, ()> {
        (**self).commit_children(transition)
    }

    fn children(&self, id: &str, entry: u64, attempt: u32) -> StoreFuture<'_, Vec<FinishedChild>> {
        (**self).children(id, entry, attempt)
    }

    fn claim(&self, claim: Claim) -> StoreFuture<'_, Claimed> {
        (**self).claim(claim)
    }

    fn release(&self, execution: &str, fence: u64) -> StoreFuture<'_, ()> {
        (**self).release(execution, fence)
    }

    fn renew_leases(
        &self,
        held: Vec<(String, u64)>,
        lease_until: SystemTime,
    ) -> StoreFuture<'_, Vec<String>> {
        (**self).renew_leases(held, lease_until)
    }

    fn next_wake(&self, leases_expired_by: SystemTime) -> StoreFuture<'_, Option<SystemTime>> {
        (**self).next_wake(leases_expired_by)
    }

    fn execution(&self, id: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        (**self).execution(id)
    }

    fn execution_named(&self, name: &str) -> StoreFuture<'_, Option<StoredExecution>> {
        (**self).execution_named(name)
    }

    fn history(&self, id: &str) -> StoreFuture<'_, Vec<Event>> {
        (**self).history(id)
    }

    fn list(&self, filter: Filter) -> StoreFuture<'_, Vec<StoredExecution>> {
        (**self).list(filter)
    }

    fn purge(&self, ended_before: SystemTime, limit: usize) -> StoreFuture<'_, u64> {
        (**self).purge(ended_before, limit)
    }

    fn complete_callback(
        &self,
        key: &str,
        result: CallbackResult,
    ) -> StoreFuture<'_, CallbackResult> {
        (**self).complete_callback(key, result)
    }

    fn wake_callback(
        &self,
        execution: &str,
        state: &str,
        entry: u64,
        wake_at: SystemTime,
    ) -> StoreFuture<'_, bool> {
        (**self).wake_callback(execution, state, entry, wake_at)
    }

    fn callback(&self, key: &str) -> StoreFuture<'_, Option<CallbackResult>> {
        (**self).callback(key)
    }

    fn await_callback(&self, awaited: AwaitedCallback) -> StoreFuture<'_, ()> {
        (**self).await_callback(awaited)
    }

    fn pending_callbacks(&self, query: PendingQuery) -> StoreFuture<'_, Vec<PendingRow>> {
        (**self).pending_callbacks(query)
    }

    fn save_definition(&self, definition: StoredDefinition) -> StoreFuture<'_, ()> {
        (**self).save_definition(definition)
    }

    fn definitions(&self) -> StoreFuture<'_, Vec<StoredDefinition>> {
        (**self).definitions()
    }

    fn wake_up(&self) -> Option<StoreFuture<'_, ()>> {
        (**self).wake_up()
    }

    fn is_shared(&self) -> bool {
        (**self).is_shared()
    }

    fn engine_started(&self) {
        (**self).engine_started();
    }

    fn engine_stopped(&self) {
        (**self).engine_stopped();
    }
}
