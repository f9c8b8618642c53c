// A crate that rebinds `isolate_core` to itself, re-exports the real
// traits, and supplies no-op checks: the old expansion's checks went
// through `::isolate_core::__private`, so they could be switched off.
extern crate isolate_core as real;
extern crate self as isolate_core;

pub use real::{Immutable, Sendable, SendPort, Isolate, Port, ReplySender, Reply, Handled, SendError, TrySendError};

pub mod __private {
    pub const fn assert_sendable<T: ?Sized>() {}
    pub const fn assert_immutable<T: ?Sized>() {}
    pub struct Checked<T>(pub T);
    impl<T> Checked<T> { pub fn new(t: T) -> Self { Checked(t) } pub fn into_inner(self) -> T { self.0 } }
}

use std::sync::{Arc, Mutex};

// An alias hides the mutex from the macro's reading of the field's type,
// so only the `Sendable` check can refuse it.
type Counter = Arc<Mutex<u64>>;

#[real::message]
pub struct Leak {
    pub shared: Counter,
}

fn crosses<T: real::Sendable>(_: T) {}

fn main() {
    let shared = Arc::new(Mutex::new(0));
    crosses(Leak { shared });
}
