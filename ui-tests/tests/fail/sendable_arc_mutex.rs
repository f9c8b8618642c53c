use std::sync::{Arc, Mutex};
use isolate_core::Sendable;

fn send<T: Sendable>(_: T) {}

fn main() {
    // `Arc<Mutex<_>>` is `Send`, but it is shared mutable state: refused.
    send(Arc::new(Mutex::new(Vec::<u8>::new())));
}
