// A plain struct (no `#[message]`) that holds an `Rc`, as an argument and
// as a return type: one error at each type, and none about the generated
// enum, its channel or the port.
use std::rc::Rc;

use isolate_core::prelude::*;

pub struct Plain {
    pub rc: Rc<u8>,
}

#[isolate]
pub struct Store {
    n: u8,
}

#[isolate]
impl Store {
    #[message]
    fn take(&mut self, plain: Plain) -> u8 {
        *plain.rc + self.n
    }

    #[message]
    fn give(&self) -> Plain {
        Plain { rc: Rc::new(self.n) }
    }
}

fn main() {
    let group = IsolateGroup::new();
    let store = group.spawn(Store { n: 1 });
    let _ = store.give();
}
