use isolate_core::prelude::*;

#[isolate]
pub struct Store {
    items: Vec<String>,
}

#[isolate]
impl Store {
    #[message]
    fn add_item(&mut self, item: String) {
        self.items.push(item);
    }

    #[message]
    fn add__item(&mut self, item: String) {
        self.items.insert(0, item);
    }
}

fn main() {}
