use isolate_core::prelude::*;

#[message]
pub struct Job {
    pub work: Box<dyn Fn() -> u64 + Send>,
}

fn main() {}
