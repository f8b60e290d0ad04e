//! `forward_store!(field: method, ...)`: inside `impl Store for Wrapper`,
//! the listed methods pass straight to the store in `self.field`, so a test
//! store writes out only the methods it changes.

macro_rules! forward_store {
    ($field:ident: $($method:ident),* $(,)?) => {
        $(forward_store!(@one $field $method);)*
    };
    (@one $f:ident create) => {
        fn create(
            &self,
            execution: ::workflow::store::NewExecution,
            owner: &str,
            lease_until: ::std::time::SystemTime,
        ) -> ::workflow::store::StoreFuture<'_, ::workflow::store::Created> {
            self.$f.create(execution, owner, lease_until)
        }
    };
    (@one $f:ident commit) => {
        fn commit(
            &self,
            transition: ::workflow::store::Transition,
        ) -> ::workflow::store::StoreFuture<'_, ()> {
            self.$f.commit(transition)
        }
    };
    (@one $f:ident commit_children) => {
        fn commit_children(
            &self,
            transition: ::workflow::store::ChildTransition,
        ) -> ::workflow::store::StoreFuture<'_, ()> {
            self.$f.commit_children(transition)
        }
    };
    (@one $f:ident children) => {
        fn children(
            &self,
            id: &str,
            entry: u64,
            attempt: u32,
        ) -> ::workflow::store::StoreFuture<'_, Vec<::workflow::store::FinishedChild>> {
            self.$f.children(id, entry, attempt)
        }
    };
    (@one $f:ident claim) => {
        fn claim(
            &self,
            claim: ::workflow::store::Claim,
        ) -> ::workflow::store::StoreFuture<'_, ::workflow::store::Claimed> {
            self.$f.claim(claim)
        }
    };
    (@one $f:ident release) => {
        fn release(&self, id: &str, fence: u64) -> ::workflow::store::StoreFuture<'_, ()> {
            self.$f.release(id, fence)
        }
    };
    (@one $f:ident renew_leases) => {
        fn renew_leases(
            &self,
            held: Vec<(String, u64)>,
            lease_until: ::std::time::SystemTime,
        ) -> ::workflow::store::StoreFuture<'_, Vec<String>> {
            self.$f.renew_leases(held, lease_until)
        }
    };
    (@one $f:ident next_wake) => {
        fn next_wake(
            &self,
            leases_expired_by: ::std::time::SystemTime,
        ) -> ::workflow::store::StoreFuture<'_, Option<::std::time::SystemTime>> {
            self.$f.next_wake(leases_expired_by)
        }
    };
    (@one $f:ident execution) => {
        fn execution(
            &self,
            id: &str,
        ) -> ::workflow::store::StoreFuture<'_, Option<::workflow::store::StoredExecution>> {
            self.$f.execution(id)
        }
    };
    (@one $f:ident execution_named) => {
        fn execution_named(
            &self,
            name: &str,
        ) -> ::workflow::store::StoreFuture<'_, Option<::workflow::store::StoredExecution>> {
            self.$f.execution_named(name)
        }
    };
    (@one $f:ident history) => {
        fn history(
            &self,
            id: &str,
        ) -> ::workflow::store::StoreFuture<'_, Vec<::workflow::Event>> {
            self.$f.history(id)
        }
    };
    (@one $f:ident list) => {
        fn list(
            &self,
            filter: ::workflow::store::Filter,
        ) -> ::workflow::store::StoreFuture<'_, Vec<::workflow::store::StoredExecution>> {
            self.$f.list(filter)
        }
    };
    (@one $f:ident purge) => {
        fn purge(
            &self,
            ended_before: ::std::time::SystemTime,
            limit: usize,
        ) -> ::workflow::store::StoreFuture<'_, u64> {
            self.$f.purge(ended_before, limit)
        }
    };
    (@one $f:ident complete_callback) => {
        fn complete_callback(
            &self,
            key: &str,
            result: ::workflow::store::CallbackResult,
        ) -> ::workflow::store::StoreFuture<'_, ::workflow::store::CallbackResult> {
            self.$f.complete_callback(key, result)
        }
    };
    (@one $f:ident wake_callback) => {
        fn wake_callback(
            &self,
            execution: &str,
            state: &str,
            entry: u64,
            wake_at: ::std::time::SystemTime,
        ) -> ::workflow::store::StoreFuture<'_, bool> {
            self.$f.wake_callback(execution, state, entry, wake_at)
        }
    };
    (@one $f:ident callback) => {
        fn callback(
            &self,
            key: &str,
        ) -> ::workflow::store::StoreFuture<'_, Option<::workflow::store::CallbackResult>> {
            self.$f.callback(key)
        }
    };
    (@one $f:ident await_callback) => {
        fn await_callback(
            &self,
            awaited: ::workflow::store::AwaitedCallback,
        ) -> ::workflow::store::StoreFuture<'_, ()> {
            self.$f.await_callback(awaited)
        }
    };
    (@one $f:ident pending_callbacks) => {
        fn pending_callbacks(
            &self,
            query: ::workflow::store::PendingQuery,
        ) -> ::workflow::store::StoreFuture<'_, Vec<::workflow::store::PendingRow>> {
            self.$f.pending_callbacks(query)
        }
    };
    (@one $f:ident save_definition) => {
        fn save_definition(
            &self,
            definition: ::workflow::store::StoredDefinition,
        ) -> ::workflow::store::StoreFuture<'_, ()> {
            self.$f.save_definition(definition)
        }
    };
    (@one $f:ident definitions) => {
        fn definitions(
            &self,
        ) -> ::workflow::store::StoreFuture<'_, Vec<::workflow::store::StoredDefinition>> {
            self.$f.definitions()
        }
    };
    (@one $f:ident wake_up) => {
        fn wake_up(&self) -> Option<::workflow::store::StoreFuture<'_, ()>> {
            self.$f.wake_up()
        }
    };
    (@one $f:ident is_shared) => {
        fn is_shared(&self) -> bool {
            self.$f.is_shared()
        }
    };
    (@one $f:ident engine_started) => {
        fn engine_started(&self) {
            self.$f.engine_started()
        }
    };
    (@one $f:ident engine_stopped) => {
        fn engine_stopped(&self) {
            self.$f.engine_stopped()
        }
    };
}
