// Hole 1 of issue 16: a pinned factory that captures the spawner's
// `Arc<Mutex<_>>` would hand one mutex to every isolate it builds.
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
    let _first = group.spawn_pinned(move |()| Leaky { shared: shared.clone() }, ());
}
