use std::rc::Rc;
use isolate_core::prelude::*;

#[message]
pub struct Wrapper<T>(pub T);

fn send<T: Sendable>(_: T) {}

fn main() {
    send(Wrapper(String::from("fine")));
    send(Wrapper(Rc::new(1u8)));
}
