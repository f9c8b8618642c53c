use isolate_core::prelude::*;

pub struct Counter {
    total: u64,
}

impl Counter {
    #[message]
    fn add(&mut self, n: u64) {
        self.total += n;
    }
}

fn main() {}
