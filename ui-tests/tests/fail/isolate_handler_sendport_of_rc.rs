use std::rc::Rc;
use isolate_core::prelude::*;

#[isolate]
pub struct Feed {
    items: Vec<String>,
}

#[isolate]
impl Feed {
    #[message]
    fn subscribe(&mut self, to: SendPort<Rc<String>>) {
        let _ = to;
    }
}

fn main() {}
