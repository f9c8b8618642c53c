use std::sync::{Arc, Mutex};
use isolate_core::prelude::*;

// A hand-written isolate whose state shares a `Vec` with another isolate.
struct Leaky {
    log: Arc<Mutex<Vec<u32>>>,
}

#[message]
enum Msg {
    Push(u32),
}

impl Isolate for Leaky {
    type Message = Msg;
    type Port = SendPort<Msg>;
    fn handle(&mut self, Msg::Push(n): Msg) -> Handled<'_> {
        self.log.lock().unwrap().push(n);
        Handled::Done
    }
}

fn main() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let group = IsolateGroup::new();
    let _a = group.spawn(Leaky { log: log.clone() });
    let _b = group.spawn(Leaky { log });
}
