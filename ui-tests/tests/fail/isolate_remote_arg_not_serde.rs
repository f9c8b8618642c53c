use isolate_core::prelude::*;

/// Sendable, but not serde: it cannot cross into another process.
#[message]
pub struct Job {
    pub id: u64,
}

#[isolate]
pub struct Worker;

#[isolate(remote)]
impl Worker {
    #[message]
    fn run(&mut self, job: Job) -> u64 {
        job.id
    }
}

fn main() {}
