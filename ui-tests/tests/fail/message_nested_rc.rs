use std::rc::Rc;
use isolate_core::prelude::*;

#[message]
pub struct Batch {
    pub items: Vec<Option<Rc<String>>>,
}

fn main() {}
