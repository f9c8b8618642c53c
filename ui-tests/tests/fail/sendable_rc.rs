use std::rc::Rc;
use isolate_core::prelude::*;

async fn entry(_: Rc<String>) {}

fn main() {
    let group = IsolateGroup::new();
    group.spawn_fn(entry, Rc::new(String::new()));
}
