use std::sync::{Arc, Mutex};

use isolate_core::prelude::*;

#[isolate]
pub struct Hub {
    subscribers: Vec<String>,
}

#[isolate]
impl Hub {
    // The port is the right idea; what it carries is not.
    #[message]
    fn subscribe(&mut self, to: SendPort<Arc<Mutex<u8>>>) {
        let _ = to;
    }
}

fn main() {}
