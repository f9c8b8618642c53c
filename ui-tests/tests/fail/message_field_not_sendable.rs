use std::cell::RefCell;
use isolate_core::prelude::*;

#[message]
pub struct Job {
    pub id: u64,
    pub scratch: RefCell<Vec<u8>>,
}

fn main() {}
