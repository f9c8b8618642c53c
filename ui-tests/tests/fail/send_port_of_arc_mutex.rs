use std::sync::{Arc, Mutex};

use isolate_core::prelude::*;

async fn entry(back: SendPort<Arc<Mutex<u8>>>) {
    let _ = back.send(Arc::default());
}

fn main() {
    let group = IsolateGroup::new();
    let inbox = ReceivePort::new();
    group.spawn_fn(entry, inbox.send_port());
}
