use isolate_core::prelude::*;

#[isolate]
pub struct Session {
    id: u64,
}

#[isolate]
impl Session {
    #[message]
    fn close(self) -> u64 {
        self.id
    }
}

fn main() {}
