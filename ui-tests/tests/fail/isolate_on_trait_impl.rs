use isolate_core::prelude::*;

#[isolate]
pub struct Counter {
    total: u64,
}

#[isolate]
impl Default for Counter {
    fn default() -> Self {
        Counter { total: 0 }
    }
}

fn main() {}
