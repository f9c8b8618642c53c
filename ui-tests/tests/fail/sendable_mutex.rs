use std::sync::Mutex;
use isolate_core::Sendable;

fn send<T: Sendable>(_: T) {}

fn main() {
    send(Mutex::new(0u64));
}
