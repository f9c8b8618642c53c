use std::sync::RwLock;
use isolate_core::Sendable;

fn send<T: Sendable>(_: T) {}

fn main() {
    send(RwLock::new(String::new()));
}
