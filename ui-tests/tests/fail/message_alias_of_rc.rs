use std::rc::Rc;
use isolate_core::prelude::*;

// Hidden behind an alias, `Rc` is still caught, by the `Sendable` check.
type Handle = Rc<Vec<u8>>;

#[message]
pub struct Job {
    pub handle: Handle,
}

fn main() {}
