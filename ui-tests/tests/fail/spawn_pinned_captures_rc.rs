use std::rc::Rc;

use isolate_core::prelude::*;

#[isolate(pinned)]
pub struct Cache {
    words: Rc<Vec<String>>,
}

#[isolate(pinned)]
impl Cache {
    #[message]
    fn len(&self) -> usize {
        self.words.len()
    }
}

fn main() {
    let group = IsolateGroup::new();
    let words = Rc::new(vec!["built on the wrong thread".to_owned()]);
    // Captures `words`: build the `Rc` inside the factory instead, from
    // data that crosses (`|list| Cache { words: Rc::new(list) }, list`).
    let _cache = group.spawn_pinned(move |()| Cache { words }, ());
}
