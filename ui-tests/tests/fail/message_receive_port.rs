use isolate_core::prelude::*;

#[message]
pub struct Subscribe {
    pub inbox: ReceivePort<String>,
}

fn main() {}
