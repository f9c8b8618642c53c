use isolate_core::prelude::*;

async fn entry(_inbox: ReceivePort<u8>) {}

fn main() {
    let group = IsolateGroup::new();
    // A receive port stays with its isolate: hand out its SendPort instead.
    group.spawn_fn(entry, ReceivePort::new());
}
