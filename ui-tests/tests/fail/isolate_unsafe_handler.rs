use isolate_core::prelude::*;

#[isolate]
pub struct Raw {
    n: u64,
}

#[isolate]
impl Raw {
    #[message]
    unsafe fn poke(&mut self, n: u64) {
        self.n = n;
    }
}

fn main() {}
