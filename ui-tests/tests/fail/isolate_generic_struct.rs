use isolate_core::prelude::*;

#[isolate]
pub struct Cache<V> {
    items: Vec<V>,
}

fn main() {}
