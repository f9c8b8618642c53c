use isolate_core::prelude::*;

#[isolate(local)]
pub struct Gui {
    clicks: u64,
}

fn main() {}
