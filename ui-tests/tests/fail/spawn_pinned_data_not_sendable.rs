use std::sync::{Arc, Mutex};

use isolate_core::prelude::*;

#[isolate(pinned)]
pub struct Leaky {
    shared: Arc<Mutex<u64>>,
}

#[isolate(pinned)]
impl Leaky {
    #[message]
    fn bump(&mut self) {
        *self.shared.lock().unwrap() += 1;
    }
}

fn main() {
    let group = IsolateGroup::new();
    let shared = Arc::new(Mutex::new(0));
    // The data crosses to the isolate's worker: it must be `Sendable`.
    let _leaky = group.spawn_pinned(|shared| Leaky { shared }, shared.clone());
}
