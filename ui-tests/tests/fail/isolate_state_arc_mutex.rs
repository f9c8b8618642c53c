use std::sync::{Arc, Mutex};
use isolate_core::prelude::*;

// Two isolates holding one `Arc<Mutex<_>>` would share mutable state.
#[isolate]
pub struct Logger {
    lines: Arc<Mutex<Vec<String>>>,
}

#[isolate]
impl Logger {
    #[message]
    fn log(&mut self, line: String) {
        self.lines.lock().unwrap().push(line);
    }
}

fn main() {}
