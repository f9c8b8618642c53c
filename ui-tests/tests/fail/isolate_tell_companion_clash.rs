use isolate_core::prelude::*;

#[isolate]
pub struct Queue {
    items: Vec<u32>,
}

#[isolate]
impl Queue {
    /// A tell: its port also gets `try_push` and `push_async`.
    #[message]
    fn push(&mut self, item: u32) {
        self.items.push(item);
    }

    #[message]
    fn try_push(&mut self, item: u32) -> bool {
        self.items.push(item);
        true
    }
}

fn main() {}
