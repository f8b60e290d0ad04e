//! `end` on parallel and map states, with the output named; retry and catch
//! on parallel and map states, matching the errors their children fail with.

#![deny(warnings)]

use workflow::prelude::*;

#[derive(Debug, Clone, thiserror::Error)]
pub enum JobError {
    #[error("flaky")]
    Flaky,
}

#[derive(Debug)]
pub struct Report(pub String);

impl From<Caught<(u8, u8), ExecutionError>> for Report {
    fn from(caught: Caught<(u8, u8), ExecutionError>) -> Self {
        Report(caught.error.to_string())
    }
}

#[workflow(output = Vec<u8>)]
pub enum Batch {
    #[start]
    #[parallel(branches = [Job, Job], next = Spread)]
    #[retry(on = [JobError::Flaky, timeout], max_attempts = 2)]
    Both(u8),

    #[map(Job, items = pair, max_concurrency = 0, end)]
    #[retry(on = [task_failed])]
    #[catch(on = [any], next = Failed)]
    Spread((u8, u8)),

    #[fail(error = "BatchFailed")]
    Failed(Report),
}

#[workflow(output = u8)]
pub enum Job {
    #[start]
    #[task(work, end)]
    Work(u8),
}

fn pair(p: &(u8, u8)) -> [u8; 2] {
    [p.0, p.1]
}

async fn work(_cx: Ctx<'_, ()>, n: u8) -> Result<u8, JobError> {
    if n == 0 { Err(JobError::Flaky) } else { Ok(n) }
}

fn main() {
    fn assert_workflow<W: Workflow<Input = u8, Output = Vec<u8>>>() {}
    assert_workflow::<Batch>();
}
