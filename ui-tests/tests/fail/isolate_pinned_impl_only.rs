use isolate_core::prelude::*;

#[isolate]
pub struct Cache {
    entries: Vec<String>,
}

// `pinned` on the impl block alone would let `spawn` take an isolate whose
// handlers return futures that are not `Send`.
#[isolate(pinned)]
impl Cache {
    #[message]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

fn main() {}
