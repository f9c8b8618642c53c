use isolate_core::prelude::*;

#[isolate]
pub struct Counter {
    total: u64,
}

#[isolate]
impl Counter {
    fn add(&mut self, n: u64) {
        self.total += n;
    }
}

fn main() {}
