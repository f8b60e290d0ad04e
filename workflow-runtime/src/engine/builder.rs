//! Setting an engine up: its store, clock, limits and policies.

use super::*;

/// Limits that keep one execution from taking the engine down with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest serialized state data or output, in bytes; past it the
    /// execution fails with `States.DataLimitExceeded`, which no catcher
    /// catches. Default: 256 KiB.
    pub payload_bytes: usize,
    /// The most history events one execution may have; past it the
    /// execution fails with `States.HistoryLimitExceeded`. Default: 25,000.
    pub history_events: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            payload_bytes: 256 * 1024,
            history_events: 25_000,
        }
    }
}

/// What [`Engine::recover`] does with an execution checkpointed under
/// another version of its workflow's definition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VersionPolicy {
    /// Leave it as it is, and report it: deploy the old version to finish
    /// it, or decide later.
    #[default]
    Park,
    /// Fail it with `States.VersionMismatch`.
    Fail,
}

/// Builds an [`Engine`].
pub struct EngineBuilder<C> {
    context: C,
    limits: Limits,
    seed: Option<u64>,
    versions: VersionPolicy,
    store: Arc<dyn Store>,
    clock: Option<Clock>,
    park_after: Option<Duration>,
    lease: Option<Duration>,
    poll: Option<Duration>,
    max_active: usize,
    client_only: bool,
}

impl<C: Send + Sync + 'static> EngineBuilder<C> {
    /// The defaults: an in-memory store, default limits, waits over 5 s
    /// parked.
    pub(super) fn new(context: C) -> Self {
        EngineBuilder {
            context,
            limits: Limits::default(),
            seed: None,
            versions: VersionPolicy::default(),
            store: Arc::new(MemoryStore::new()),
            clock: None,
            park_after: Some(Duration::from_secs(5)),
            lease: None,
            poll: None,
            max_active: usize::MAX,
            client_only: false,
        }
    }

    /// Waits and retry backoffs longer than this leave memory: the deadline
    /// stays in the store and the engine's timer resumes the execution
    /// when it is due. Default: 5 s. `None` keeps every wait in memory.
    ///
    /// With any limit, a callback task's wait leaves memory too, however
    /// near its deadlines: it waits for a call from outside, which a
    /// future in memory would only wait for (see
    /// [`Ctx::callback`](crate::Ctx::callback)).
    pub fn park_after(mut self, park_after: Option<Duration>) -> Self {
        self.park_after = park_after;
        self
    }

    /// The clock to run on. Engines that share a store should share a clock
    /// in tests, where tokio's paused time would otherwise put each engine's
    /// wall time at a different place.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Sets the limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Seeds retry jitter, so delays repeat from run to run.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Where executions are written; [`MemoryStore`] by default. To share
    /// a store with something else in the process (a tool that reads it,
    /// an administrative task), pass an `Arc` of it: an `Arc` of a store is
    /// a store. An embedded store is driven by one engine at a time: do
    /// not give one store to two engines that run at once.
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// What recovery does with executions of another definition version.
    pub fn on_version_mismatch(mut self, policy: VersionPolicy) -> Self {
        self.versions = policy;
        self
    }

    /// How long a claimed execution stays this engine's without renewal.
    /// The engine renews its leases every third of this while it lives; a
    /// worker that dies (or stalls longer: a GC pause, a stopped process,
    /// a network partition) loses its executions to the others when it
    /// expires, and every write it tries after that is refused.
    ///
    /// Default: 30 s on a store other processes share
    /// ([`Store::is_shared`]); on an embedded store, executions are held
    /// until they park or the process ends, and [`Engine::recover`] takes
    /// over everything.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease.max(Duration::from_millis(3)));
        self
    }

    /// How often the engine looks for work it was not told about: starts,
    /// timers and expired leases of other processes whose wake-up it
    /// missed. Default: 1 s on a shared store, 60 s on an embedded one
    /// (which hears its own parks directly).
    pub fn poll_interval(mut self, poll: Duration) -> Self {
        self.poll = Some(poll.max(Duration::from_millis(1)));
        self
    }

    /// The most executions this engine drives at once (back-pressure): past
    /// it, it claims no more until some park or end, and executions wait in
    /// the store for this or another worker. Its own starts run at once
    /// regardless. Default: no limit.
    pub fn max_executions(mut self, max: usize) -> Self {
        self.max_active = max.max(1);
        self
    }

    /// An engine that drives no executions: it starts them (for workers to
    /// claim), describes, lists, reads histories, answers callbacks and
    /// cancels. For a web handler or a command-line tool in front of a
    /// shared store.
    pub fn client_only(mut self) -> Self {
        self.client_only = true;
        self
    }

    /// The engine.
    pub fn build(self) -> Engine<C> {
        let shared_store = self.store.is_shared();
        let leasing = Leasing {
            lease: self
                .lease
                .or(shared_store.then_some(Duration::from_secs(30))),
            poll: self.poll.unwrap_or(if shared_store {
                Duration::from_secs(1)
            } else {
                Duration::from_secs(60)
            }),
            max_active: self.max_active,
            client_only: self.client_only,
        };
        if !leasing.client_only {
            self.store.engine_started();
        }
        let clock = self.clock.unwrap_or_default();
        let callbacks = Arc::new(CallbackHub {
            store: Arc::clone(&self.store),
            waiters: Mutex::default(),
            parked: Mutex::default(),
            recheck: self.store.is_shared().then_some(leasing.poll),
            clock,
        });
        Engine {
            shared: Arc::new(Shared {
                context: self.context,
                limits: self.limits,
                seed: self.seed,
                versions: self.versions,
                owner: format!("engine-{:016x}", fastrand::u64(..)),
                clock,
                store: self.store,
                registry: Mutex::default(),
                live: Mutex::default(),
                park_after: self.park_after,
                timers: Mutex::default(),
                wake: tokio::sync::Notify::new(),
                callbacks,
                ids: Ids::default(),
                leasing,
                stopping: Arc::default(),
                tasks: Arc::default(),
                stopped: watch::channel(None).0,
            }),
        }
    }
}
