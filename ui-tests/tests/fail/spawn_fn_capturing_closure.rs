use isolate_core::prelude::*;

fn main() {
    let group = IsolateGroup::new();
    let name = String::from("worker");
    // Captures `name`: send it as (part of) the message instead.
    group.spawn_fn(
        move |port: SendPort<String>| async move {
            port.send(name).unwrap();
        },
        ReceivePort::new().send_port(),
    );
}
