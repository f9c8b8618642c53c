use std::sync::{Arc, Mutex};
use std::time::Duration;

use isolate_core::prelude::*;

fn main() {
    let group = IsolateGroup::new();
    let fired = Arc::new(Mutex::new(false));
    // Runs on the group's timer thread: what it needs goes in `data`.
    group.after(Duration::from_millis(1), (), move |()| {
        *fired.lock().unwrap() = true;
    });
}
