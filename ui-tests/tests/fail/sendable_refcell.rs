use std::cell::RefCell;
use isolate_core::Sendable;

fn send<T: Sendable>(_: T) {}

fn main() {
    send(RefCell::new(vec![1, 2, 3]));
}
