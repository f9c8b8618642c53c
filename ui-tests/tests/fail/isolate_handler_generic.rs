use isolate_core::prelude::*;

#[isolate]
pub struct Store {
    items: Vec<String>,
}

#[isolate]
impl Store {
    #[message]
    fn put<T: ToString>(&mut self, item: T) {
        self.items.push(item.to_string());
    }
}

fn main() {}
