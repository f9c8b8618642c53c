use isolate_core::prelude::*;

#[message]
fn start(n: u64) -> u64 {
    n
}

fn main() {}
