use std::cell::RefCell;
use isolate_core::prelude::*;

async fn entry(_port: SendPort<RefCell<u8>>) {}

fn main() {
    let group = IsolateGroup::new();
    let inbox = ReceivePort::new();
    group.spawn_fn(entry, inbox.send_port());
}
