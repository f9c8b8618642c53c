use isolate_core::prelude::*;

#[isolate]
pub struct Index {
    words: Vec<String>,
}

#[isolate]
impl Index {
    #[message]
    fn insert(&mut self, word: &str) {
        self.words.push(word.to_owned());
    }
}

fn main() {}
