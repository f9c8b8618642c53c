use std::sync::{Arc, Mutex};

use isolate_core::AssertSendable;

// A vouched-for value cannot be defaulted or cloned into a second one that
// shares its state: that would hand one `Mutex` to two isolates.
fn main() {
    let made: AssertSendable<Arc<Mutex<u8>>> = Default::default();
    // SAFETY: a fresh mutex, owned by this value alone.
    let vouched = unsafe { AssertSendable::new(Arc::new(Mutex::new(0u8))) };
    let _twin = vouched.clone();
    let _inside = &*vouched;
    let _ = made;
}
