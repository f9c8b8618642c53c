use std::rc::Rc;
use isolate_core::prelude::*;

type Shared2 = Rc<String>;

#[isolate]
pub struct Holder {
    value: Shared2,
}

#[isolate]
impl Holder {
    #[message]
    fn len(&self) -> usize {
        self.value.len()
    }
}

fn main() {}
