use std::sync::{Arc, Mutex};

// The future must be made from `data` alone: a closure that captures the
// caller's `Arc<Mutex<_>>` would carry it into the isolate.
fn main() {
    let shared = Arc::new(Mutex::new(0u64));
    let _ = isolate_core::run_future(1u64, move |n| {
        let shared = shared.clone();
        async move { *shared.lock().unwrap() + n }
    });
}
