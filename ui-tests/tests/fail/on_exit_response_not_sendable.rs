use std::cell::Cell;

use isolate_core::prelude::*;
use isolate_core::SpawnOptions;

fn main() {
    let inbox = ReceivePort::<Cell<u8>>::new();
    let _options = SpawnOptions::new().on_exit(inbox.send_port(), Cell::new(0));
}
