use isolate_core::prelude::*;

#[message]
pub struct Buffer {
    pub start: *mut u8,
    pub len: usize,
}

fn main() {}
