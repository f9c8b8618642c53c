// Hole 4 of issue 16: a registered `SendPort<T>` reaches every isolate of
// the group, so `T` must be `Sendable`, not merely `Send`.
use std::sync::{Arc, Mutex};

use isolate_core::prelude::*;

fn main() {
    let group = IsolateGroup::new();
    let back = ReceivePort::<Arc<Mutex<u64>>>::new();
    group.register("back", &back.send_port()).unwrap();
}
