use std::sync::{Arc, RwLock};
use isolate_core::prelude::*;

#[message]
pub struct Config {
    pub settings: Arc<RwLock<Vec<String>>>,
}

fn main() {}
