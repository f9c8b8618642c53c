use std::sync::atomic::AtomicUsize;
use isolate_core::Sendable;

fn send<T: Sendable>(_: T) {}

fn main() {
    send(AtomicUsize::new(0));
}
