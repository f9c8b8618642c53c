use std::rc::Rc;
use isolate_core::Sendable;

fn send<T: Sendable>(_: T) {}

fn main() {
    send(vec![Some(Rc::new(1u8))]);
}
