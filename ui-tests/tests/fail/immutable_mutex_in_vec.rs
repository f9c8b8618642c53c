use std::sync::{Arc, Mutex};
use isolate_core::Sendable;

fn send<T: Sendable>(_: T) {}

fn main() {
    // An `Arc` crosses only when what it points at is deeply immutable.
    send(Arc::new(vec![Mutex::new(1u8)]));
}
