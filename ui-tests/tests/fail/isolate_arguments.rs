use isolate_core::prelude::*;

#[isolate(pinned)]
pub struct Gui {
    clicks: u64,
}

fn main() {}
