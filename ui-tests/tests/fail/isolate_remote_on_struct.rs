use isolate_core::prelude::*;

#[isolate(remote)]
pub struct Counter {
    total: u64,
}

fn main() {}
