use std::cell::RefCell;
use isolate_core::prelude::*;

#[isolate]
pub struct Cache {
    hits: u64,
}

#[isolate]
impl Cache {
    #[message]
    fn hits(&self) -> RefCell<u64> {
        RefCell::new(self.hits)
    }
}

fn main() {}
