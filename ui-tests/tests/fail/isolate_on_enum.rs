use isolate_core::prelude::*;

#[isolate]
pub enum Light {
    On,
    Off,
}

fn main() {}
