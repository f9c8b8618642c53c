use std::rc::Rc;

use isolate_core::AssertSendable;

// Not even a promise moves a value that is not `Send`: an `Rc`'s count is
// shared with its clones.
fn main() {
    let _vouched = unsafe { AssertSendable::new(Rc::new(1u8)) };
}
