use std::sync::{Arc, Mutex};

fn main() {
    // The closure would carry the caller's lock to a blocking thread.
    let shared = Arc::new(Mutex::new(0u64));
    let _ = isolate_core::blocking_with(5u64, move |n| *shared.lock().unwrap() += n);
}
