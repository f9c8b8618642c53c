use isolate_core::prelude::*;

#[message(copy)]
pub struct Point {
    pub x: i32,
}

fn main() {}
