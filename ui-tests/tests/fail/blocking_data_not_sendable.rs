use std::sync::{Arc, Mutex};

fn main() {
    // As data, the lock would be shared with the blocking thread just the same.
    let shared = Arc::new(Mutex::new(0u64));
    let _ = isolate_core::blocking_with(shared.clone(), |shared| *shared.lock().unwrap() += 1);
}
