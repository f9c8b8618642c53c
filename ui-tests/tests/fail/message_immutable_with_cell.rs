use isolate_core::prelude::*;

#[message(immutable)]
pub struct Stats {
    pub hits: std::cell::Cell<u64>,
}

fn main() {}
