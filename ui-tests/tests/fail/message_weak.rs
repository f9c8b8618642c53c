use isolate_core::prelude::*;

#[message]
pub struct Node {
    pub parent: std::rc::Weak<String>,
}

fn main() {}
