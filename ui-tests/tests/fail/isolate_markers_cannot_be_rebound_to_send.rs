// The markers `#[isolate]` implements promise nothing, so they are safe
// traits: a crate that rebinds `isolate_core` and points them at `Send` or
// `Sync` gets "requires an `unsafe impl`", not a `Send` impl for an `Rc`.
#![forbid(unsafe_code)]

extern crate isolate_core as real;
extern crate self as isolate_core;

pub use real::{Handled, Isolate, Port, SendPort, Sendable};

pub mod __private {
    pub use core::marker::Send as PinnedState;
    pub use core::marker::Sync as IsolateStruct;
}

use std::rc::Rc;

#[real::isolate(pinned)]
pub struct Leak {
    rc: Rc<u64>,
}

impl real::Isolate for Leak {
    type Message = real::__private::NoMessage;
    type Port = LeakPort;

    fn handle(&mut self, message: Self::Message) -> real::Handled<'_> {
        match message {}
    }
}

fn main() {}
