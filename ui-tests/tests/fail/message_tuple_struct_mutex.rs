use std::sync::Mutex;
use isolate_core::prelude::*;

#[message]
pub struct Guarded(pub u8, pub Mutex<Vec<u8>>);

fn main() {}
