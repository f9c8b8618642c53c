use std::cell::Cell;
use isolate_core::Shared;

fn main() {
    let _counter = Shared::new(Cell::new(0u32));
}
