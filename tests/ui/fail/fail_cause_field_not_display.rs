use workflow::prelude::*;

pub struct Refusal {
    pub codes: Vec<u32>,
}

#[workflow]
enum Order {
    #[start]
    #[pass(refuse, next = Refused)]
    Check(u32),

    #[fail(error = "Refused", cause = codes)]
    Refused(Refusal),
}

fn refuse(n: u32) -> Refusal {
    Refusal { codes: vec![n] }
}

fn main() {}
