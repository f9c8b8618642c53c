use std::cell::Cell;
use std::time::Duration;

use isolate_core::prelude::*;

fn main() {
    let group = IsolateGroup::new();
    let inbox = ReceivePort::<Cell<u8>>::new();
    // Sent from the timer thread to the port's isolate: must be `Sendable`.
    group.send_after(&inbox.send_port(), Duration::from_millis(1), Cell::new(1));
}
