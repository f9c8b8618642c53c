use std::sync::{Arc, Mutex};

use isolate_core::prelude::*;
use isolate_core::Supervisor;

#[isolate]
pub struct Worker {
    jobs: u64,
}

#[isolate]
impl Worker {
    #[message]
    fn job(&mut self) {
        self.jobs += 1;
    }
}

fn main() {
    let group = IsolateGroup::new();
    let supervisor = Supervisor::builder(&group).build();
    let log = Arc::new(Mutex::new(Vec::<u64>::new()));
    // A restart factory is a `fn`: it may not capture `log`.
    let _worker = supervisor.spawn(move || {
        log.lock().unwrap().push(0);
        Worker { jobs: 0 }
    });
}
