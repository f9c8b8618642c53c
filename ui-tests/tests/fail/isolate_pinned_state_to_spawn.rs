use std::rc::Rc;
use isolate_core::prelude::*;

// A pinned isolate's state may hold an `Rc`...
#[isolate(pinned)]
pub struct Cache {
    entries: Rc<Vec<String>>,
}

#[isolate(pinned)]
impl Cache {
    #[message]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

fn main() {
    let group = IsolateGroup::new();
    // ...so it cannot be given to `spawn`, which may move it to another
    // thread: `spawn_pinned(|()| Cache { .. }, ())` is the way.
    let _cache = group.spawn(Cache { entries: Rc::default() });
}
