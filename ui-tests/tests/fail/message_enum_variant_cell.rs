use isolate_core::prelude::*;

#[message]
pub enum Command {
    Stop,
    Bump { counter: std::cell::Cell<u64> },
}

fn main() {}
