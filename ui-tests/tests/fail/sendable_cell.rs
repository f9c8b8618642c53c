use std::cell::Cell;
use isolate_core::prelude::*;

fn main() {
    let mut inbox = ReceivePort::new();
    let port: SendPort<Cell<u32>> = inbox.send_port();
    let group = IsolateGroup::new();
    group.spawn_fn(|_port: SendPort<Cell<u32>>| async {}, port);
    let _ = inbox.try_recv();
}
