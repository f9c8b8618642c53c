use isolate_core::prelude::*;

#[isolate(pinned, pinned)]
pub struct Cache {
    entries: Vec<String>,
}

fn main() {}
