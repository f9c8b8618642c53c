use isolate_core::prelude::*;

// A `SendPort` may cross, but it is not immutable data to share.
#[message(immutable)]
pub struct Settings {
    pub name: String,
    pub notify: SendPort<String>,
}

fn main() {}
