use std::sync::{Arc, Mutex};

async fn read(shared: Arc<Mutex<u64>>) -> u64 {
    *shared.lock().unwrap()
}

fn main() {
    let _ = isolate_core::run_future(Arc::new(Mutex::new(0u64)), read);
}
