// Parallel branches and map iterations that finished before an engine was
// halted (as a crash stops it) are not run again when another engine on the
// same store recovers the execution: their outputs are reused, and the
// history records each child's start and end once. Included after
// `suite.rs`, whose `store()`, `Fault` and `assert_linked` it uses.

mod children {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use serde::{Deserialize, Serialize};
    use workflow::prelude::*;
    use workflow::store::Store;
    use workflow::{Clock, Event};

    use super::{Fault, assert_linked, store};

    /// The outside world, shared by the engine before the halt and the one
    /// after it.
    #[derive(Default)]
    pub struct World {
        /// The inputs of every run of `errand`, in order.
        runs: Mutex<Vec<u64>>,
        /// Callback tokens handed out, in order.
        tokens: Mutex<Vec<String>>,
    }

    #[derive(Clone, Default)]
    pub struct Crew(Arc<World>);

    async fn errand(cx: Ctx<'_, Crew>, n: u64) -> Result<u64, Fault> {
        cx.0.runs.lock().unwrap().push(n);
        Ok(n * 10)
    }

    async fn sign_off(cx: Ctx<'_, Crew>, n: u64) -> Result<u64, Fault> {
        cx.0.tokens.lock().unwrap().push(cx.callback_token());
        cx.callback::<u64>()
            .await
            .map(|extra| n + extra)
            .map_err(|_| Fault::Broken)
    }

    /// Item 0 waits for a sign-off; the others run an errand.
    async fn errand_or_sign_off(cx: Ctx<'_, Crew>, n: u64) -> Result<u64, Fault> {
        if n == 0 {
            sign_off(cx, n).await
        } else {
            errand(cx, n).await
        }
    }

    #[workflow(context = Crew)]
    pub enum Errand {
        #[start]
        #[task(errand, next = Done)]
        Work(u64),
        #[succeed]
        Done(u64),
    }

    #[workflow(context = Crew)]
    pub enum SignOff {
        #[start]
        #[task(sign_off, next = Done)]
        Work(u64),
        #[succeed]
        Done(u64),
    }

    #[workflow(context = Crew)]
    #[derive(Serialize, Deserialize)]
    pub enum Split {
        #[start]
        #[parallel(branches = [Errand, SignOff], next = Done)]
        Both(u64),
        #[succeed]
        Done((u64, u64)),
    }

    #[workflow(context = Crew)]
    pub enum Item {
        #[start]
        #[task(errand_or_sign_off, next = Done)]
        Work(u64),
        #[succeed]
        Done(u64),
    }

    fn four(_: &u64) -> Vec<u64> {
        vec![0, 1, 2, 3]
    }

    #[workflow(context = Crew)]
    #[derive(Serialize, Deserialize)]
    pub enum Spread {
        #[start]
        #[map(Item, items = four, max_concurrency = 0, next = Done)]
        Each(u64),
        #[succeed]
        Done(Vec<u64>),
    }

    /// A map inside a branch: the branch is kept once it finishes, the
    /// map's items only as part of it.
    #[workflow(context = Crew)]
    #[derive(Serialize, Deserialize)]
    pub enum Nested {
        #[start]
        #[parallel(branches = [Errand, Spread], next = Done)]
        Both(u64),
        #[succeed]
        Done((u64, Vec<u64>)),
    }

    /// How long an engine holds what it claims: after a halt, a store that
    /// other processes share lets another engine take over only then.
    const LEASE: Duration = Duration::from_secs(30);

    struct Setup {
        store: Arc<dyn Store>,
        clock: Clock,
        crew: Crew,
    }

    impl Setup {
        fn new() -> Self {
            Setup {
                store: Arc::new(store()),
                clock: Clock::new(),
                crew: Crew::default(),
            }
        }

        fn engine(&self) -> Engine<Crew> {
            let engine = Engine::builder(self.crew.clone())
                .store(Arc::clone(&self.store))
                .clock(self.clock)
                .lease(LEASE)
                .build();
            engine.register::<Split>();
            engine.register::<Spread>();
            engine.register::<Nested>();
            engine
        }

        /// The `n`th token handed out, once the engine has nothing left to
        /// do but wait (the clock is paused, so this sleep passes only then).
        async fn token(&self, n: usize) -> String {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let tokens = self.crew.0.tokens.lock().unwrap();
            assert_eq!(tokens.len(), n, "tokens handed out: {tokens:?}");
            tokens[n - 1].clone()
        }

        fn runs(&self) -> Vec<u64> {
            let mut runs = self.crew.0.runs.lock().unwrap().clone();
            runs.sort_unstable();
            runs
        }

        /// Halts `first` with the sign-off pending, recovers on a second
        /// engine, signs off with `extra` and returns the second engine.
        async fn crash_and_sign_off(&self, first: Engine<Crew>, extra: u64) -> Engine<Crew> {
            self.token(1).await;
            first.halt();
            tokio::time::sleep(LEASE).await;
            let second = self.engine();
            let recovery = second.recover().await.unwrap();
            assert_eq!(recovery.resumed.len(), 1);
            let token = self.token(2).await;
            second.complete_task(&token, extra).await.unwrap();
            second
        }
    }

    /// The index in each event of `kind`, in order.
    fn indexes(history: &[Event], kind: EventKind) -> Vec<u64> {
        history
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| {
                let data: serde_json::Value =
                    serde_json::from_str(e.data.as_deref().unwrap()).unwrap();
                data["index"].as_u64().unwrap()
            })
            .collect()
    }

    fn sorted(mut list: Vec<u64>) -> Vec<u64> {
        list.sort_unstable();
        list
    }

    #[tokio::test(start_paused = true)]
    async fn a_branch_that_finished_before_a_crash_is_not_run_again() {
        let setup = Setup::new();
        let first = setup.engine();
        let id = first
            .start::<Split>("split", 4)
            .await
            .unwrap()
            .id()
            .to_owned();
        setup.token(1).await;
        let before = first.history(&id).await.unwrap();
        assert_eq!(
            indexes(&before, EventKind::ParallelBranchSucceeded),
            [0],
            "the finished branch is in the history before the state ends"
        );

        let second = setup.crash_and_sign_off(first, 5).await;
        assert_eq!(second.handle::<Split>(id.as_str()).await, Ok((40, 9)));
        assert_eq!(setup.runs(), [4], "the errand ran once");
        let history = second.history(&id).await.unwrap();
        assert_linked(&history);
        assert_eq!(
            sorted(indexes(&history, EventKind::ParallelBranchStarted)),
            [0, 1]
        );
        assert_eq!(
            sorted(indexes(&history, EventKind::ParallelBranchSucceeded)),
            [0, 1]
        );
        let resumed = history
            .iter()
            .filter(|e| e.kind == EventKind::ExecutionResumed)
            .count();
        assert_eq!(resumed, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn map_iterations_that_finished_before_a_crash_are_not_run_again() {
        let setup = Setup::new();
        let first = setup.engine();
        let id = first
            .start::<Spread>("spread", 0)
            .await
            .unwrap()
            .id()
            .to_owned();
        setup.token(1).await;
        let before = first.history(&id).await.unwrap();
        assert_eq!(
            sorted(indexes(&before, EventKind::MapIterationSucceeded)),
            [1, 2, 3],
            "the finished iterations are in the history before the state ends"
        );

        let second = setup.crash_and_sign_off(first, 7).await;
        assert_eq!(
            second.handle::<Spread>(id.as_str()).await,
            Ok(vec![7, 10, 20, 30])
        );
        assert_eq!(setup.runs(), [1, 2, 3], "each errand ran once");
        let history = second.history(&id).await.unwrap();
        assert_linked(&history);
        for kind in [
            EventKind::MapIterationStarted,
            EventKind::MapIterationSucceeded,
        ] {
            assert_eq!(sorted(indexes(&history, kind)), [0, 1, 2, 3], "{kind}");
        }
        assert_eq!(
            history
                .iter()
                .filter(|e| e.kind == EventKind::MapStateSucceeded)
                .count(),
            1
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_map_inside_an_unfinished_branch_runs_again_whole() {
        let setup = Setup::new();
        let first = setup.engine();
        let id = first
            .start::<Nested>("nested", 4)
            .await
            .unwrap()
            .id()
            .to_owned();
        let second = setup.crash_and_sign_off(first, 7).await;
        assert_eq!(
            second.handle::<Nested>(id.as_str()).await,
            Ok((40, vec![7, 10, 20, 30]))
        );
        assert_eq!(
            setup.runs(),
            [1, 1, 2, 2, 3, 3, 4],
            "the finished branch ran once; the items of the unfinished one ran again with it"
        );
        let history = second.history(&id).await.unwrap();
        assert_linked(&history);
        assert_eq!(
            sorted(indexes(&history, EventKind::ParallelBranchSucceeded)),
            [0, 1]
        );
        assert_eq!(
            sorted(indexes(&history, EventKind::ParallelBranchStarted)),
            [0, 1]
        );
    }
}
