//! Handlers, error variants and branch workflows named by paths into other
//! modules; a workflow in a submodule; a restricted-visibility workflow with
//! a choice; attributes of other tools on variants.

#![deny(warnings)]

use workflow::prelude::*;

mod errors {
    #[derive(Debug, Clone, thiserror::Error)]
    pub enum NetError {
        #[error("reset")]
        Reset,
    }
}

mod handlers {
    use super::errors::NetError;
    use workflow::prelude::*;

    pub async fn fetch(_cx: Ctx<'_, ()>, url: String) -> Result<usize, NetError> {
        Ok(url.len())
    }

    pub fn classify(n: usize) -> crate::flows::fetch_flow::Classify {
        if n > 3 {
            crate::flows::fetch_flow::Classify::Big(n)
        } else {
            crate::flows::fetch_flow::Classify::Small(n)
        }
    }
}

pub mod flows {
    use workflow::prelude::*;

    #[workflow]
    pub(crate) enum FetchFlow {
        /// Where it begins.
        #[start]
        #[task(crate::handlers::fetch, next = Classify)]
        #[retry(on = [crate::errors::NetError::Reset], max_attempts = 2)]
        #[allow(dead_code)]
        Fetch(String),

        #[choice(crate::handlers::classify, next = [Big, Small])]
        Classify(usize),

        #[succeed]
        Big(usize),

        #[succeed]
        Small(usize),
    }

    #[workflow]
    pub enum Both {
        #[start]
        #[parallel(branches = [FetchFlow, self::FetchFlow], next = Done)]
        Run(String),
        #[succeed]
        Done((usize, usize)),
    }
}

fn main() {
    fn assert_workflow<W: Workflow<Input = String, Output = usize>>() {}
    assert_workflow::<flows::FetchFlow>();
}
