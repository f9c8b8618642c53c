use std::rc::Rc;
use isolate_core::prelude::*;

#[isolate]
pub struct Counter {
    total: u64,
}

#[isolate]
impl Counter {
    #[message]
    fn add(&mut self, amount: Rc<u64>) {
        self.total += *amount;
    }
}

fn main() {}
