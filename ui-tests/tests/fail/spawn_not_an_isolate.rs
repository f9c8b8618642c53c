use isolate_core::prelude::*;

#[message]
pub struct Plain {
    pub n: u64,
}

fn main() {
    let group = IsolateGroup::new();
    let _port = group.spawn(Plain { n: 1 });
}
