use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use isolate_core::prelude::*;

#[message]
pub struct Progress {
    pub done: Arc<AtomicU64>,
}

fn main() {}
