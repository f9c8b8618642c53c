// Hole 3 of issue 16: a type of one's own registered as a `Port` reaches
// every isolate that looks it up, so it must be `Sendable`.
use std::sync::{Arc, Mutex};

use isolate_core::prelude::*;

#[derive(Clone)]
struct Counted {
    port: SendPort<()>,
    counter: Arc<Mutex<u64>>,
}

impl isolate_core::Port for Counted {
    type Message = ();

    fn as_send_port(&self) -> &SendPort<()> {
        &self.port
    }
}

fn main() {
    let group = IsolateGroup::new();
    let inbox = ReceivePort::new();
    let counted = Counted {
        port: inbox.send_port(),
        counter: Arc::default(),
    };
    *counted.counter.lock().unwrap() += 1;
    group.register("counted", &counted).unwrap();
}
