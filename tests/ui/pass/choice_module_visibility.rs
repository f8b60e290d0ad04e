//! The choice module is as visible as its workflow, whatever the workflow's
//! visibility, and it can be named from wherever the workflow can.

#![deny(warnings)]

use workflow::prelude::*;

pub mod outer {
    use workflow::prelude::*;

    pub mod inner {
        use workflow::prelude::*;

        #[workflow]
        pub(super) enum Up {
            #[start]
            #[choice(pick, next = [Done])]
            Pick(u32),
            #[succeed]
            Done(u32),
        }

        #[workflow]
        pub(in crate::outer) enum InOuter {
            #[start]
            #[choice(pick_in_outer, next = [Done])]
            Pick(u32),
            #[succeed]
            Done(u32),
        }

        #[workflow]
        pub(crate) enum CrateWide {
            #[start]
            #[choice(pick_crate, next = [Done])]
            Pick(u32),
            #[succeed]
            Done(u32),
        }

        #[workflow]
        pub(self) enum Here {
            #[start]
            #[choice(pick_here, next = [Done])]
            Pick(u32),
            #[succeed]
            Done(u32),
        }

        fn pick(n: u32) -> up::Pick {
            up::Pick::Done(n)
        }

        fn pick_in_outer(n: u32) -> in_outer::Pick {
            in_outer::Pick::Done(n)
        }

        fn pick_crate(n: u32) -> crate::outer::inner::crate_wide::Pick {
            crate_wide::Pick::Done(n)
        }

        fn pick_here(n: u32) -> self::here::Pick {
            here::Pick::Done(n)
        }

        pub(crate) async fn here() -> u32 {
            Here::run(&(), 4).await.unwrap()
        }
    }

    pub(crate) async fn from_outer() -> (u32, u32) {
        let _: (inner::up::Pick, inner::in_outer::Pick) =
            (inner::up::Pick::Done(1), inner::in_outer::Pick::Done(2));
        (
            inner::Up::run(&(), 1).await.unwrap(),
            inner::InOuter::run(&(), 2).await.unwrap(),
        )
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(outer::from_outer().await, (1, 2));
    let _: outer::inner::crate_wide::Pick = outer::inner::crate_wide::Pick::Done(3);
    assert_eq!(outer::inner::CrateWide::run(&(), 3).await.unwrap(), 3);
    assert_eq!(outer::inner::here().await, 4);
}
