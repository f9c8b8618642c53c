use std::sync::{Arc, Mutex};

use isolate_core::prelude::*;

fn main() {
    let inbox = ReceivePort::<Arc<Mutex<u8>>>::new();
    // `exit` hands its message to another isolate: it must be `Sendable`.
    let _ = isolate_core::exit(&inbox.send_port(), Arc::default());
}
